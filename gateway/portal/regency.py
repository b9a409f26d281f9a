"""The regency dashboard (which of the 326 villages really serve digitally, by district) and
the district view (a camat's villages: aggregates and readiness, no personal data)."""
from __future__ import annotations

from datetime import date

from flask import abort, redirect, request, url_for

from gateway.portal import blueprint, web
from gateway.readiness import by_district, readiness_rows, regency_overview, with_potential
from gateway.rpc import services
from services.common import roles

SORTS = {"kode": "code", "desa": "name", "kecamatan": "district_name",
         "internet": "internet_installed", "situs": "website", "layanan": "requested_recently",
         "terakhir": "last_request_at", "surat": "issued_total",
         "dana_desa": "realised_percent", "umkm": "businesses", "wisata": "tourism_sites"}


def _sorted(rows: list[dict], key: str, descending: bool) -> list[dict]:
    column = SORTS.get(key, "code")
    present = [row for row in rows if row[column] is not None]
    missing = [row for row in rows if row[column] is None]  # empty values always last
    present.sort(key=lambda row: row[column], reverse=descending)
    return present + missing


def _year() -> int:
    year = request.args.get("tahun", type=int) or date.today().year
    return year if 2000 <= year <= 2100 else date.today().year


def _table(template: str, rows: list[dict], year: int, districts: list[dict] | None = None,
           **context):
    sort = request.args.get("urut", "kode")
    descending = request.args.get("arah") == "turun"
    districts = by_district(with_potential(rows)) if districts is None else districts
    return web.page(template, rows=_sorted(rows, sort, descending), districts=districts,
                    year=year, sort=sort, descending=descending,
                    totals={"villages": len(rows),
                            "internet": sum(r["internet_installed"] for r in rows),
                            "website": sum(r["website"] for r in rows),
                            "serving": sum(r["serving"] for r in rows),
                            "businesses": sum(r["businesses"] for r in rows),
                            "tourism_sites": sum(r["tourism_sites"] for r in rows)},
                    **context)


@blueprint.route("/kabupaten")
@web.login_required(roles.REGENCY_ADMIN)
def regency_dashboard():
    year = _year()
    rows, districts = regency_overview(year)  # kept for half a minute (decision 0093)
    return _table("regency/dashboard.html", rows, year, districts)


@blueprint.route("/kabupaten/desa/<code>")
@web.login_required(*roles.READINESS_READERS)
def regency_village(code: str):
    """One village's readiness and letters per month: the regency's, or a camat's of their
    own district."""
    if not web.actor().covers(code):
        abort(403)
    village = web.village_or_404(code)
    year = date.today().year
    counts = services().letters.letter_counts(year, None, code)
    row = next((r for r in readiness_rows(year, village["district_code"])
                if r["code"] == code), None)
    if row is not None:
        with_potential([row])
    return web.page("regency/village.html", village=village, counts=counts, row=row,
                    year=year)


@blueprint.route("/kecamatan")
@web.login_required(roles.DISTRICT_ADMIN)
def own_district():
    return redirect(url_for("portal.district", district=web.actor().district_code))


@blueprint.route("/kecamatan/<district>")
@web.login_required(*roles.READINESS_READERS)
def district(district: str):
    """The camat's view: the district's villages, their readiness and activity (aggregates)."""
    who = web.actor()
    if who.role == roles.DISTRICT_ADMIN and district != who.district_code:
        abort(403)
    year = _year()
    rows = readiness_rows(year, district)
    if not rows:
        abort(404)
    return _table("regency/district.html", rows, year, district_name=rows[0]["district_name"],
                  district_code=district)
