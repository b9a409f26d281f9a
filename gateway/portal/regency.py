"""The regency dashboard: which of the 326 villages really serve digitally, by district."""
from __future__ import annotations

from datetime import date

from flask import request

from gateway.portal import blueprint, web
from gateway.portal.public import all_villages, village_or_404
from gateway.rpc import services
from services.common import roles

SORTS = {"kode": "code", "desa": "name", "kecamatan": "district_name",
         "internet": "internet_installed", "situs": "website", "layanan": "requested_recently",
         "terakhir": "last_request_at", "surat": "issued_total",
         "dana_desa": "realised_percent"}


def regency_rows(year: int) -> list[dict]:
    """One row per village: readiness from registry, activity from letters, money from finance.

    Six RPC calls whatever the number of villages (four pages of villages, one activity
    query, one finance query).
    """
    activity = {row["village_code"]: row for row in services().letters.recent_activity()}
    # Villages without an approved budget come back with status "none": no figure, not 0 %.
    money = {row["village_code"]: row for row in services().finance.regency_view(year, {})
             if row.get("status") != "none"}
    rows = []
    for village in all_villages():
        code = village["code"]
        seen = activity.get(code, {})
        rows.append({
            "code": code, "name": village["name"], "district_code": village["district_code"],
            "district_name": village["district_name"],
            "internet_installed": village["internet_installed"],
            # Every village has its pages here; "live" once the village filled in its profile
            # (or runs a site of its own).
            "website": bool(village.get("website_url")
                            or (village.get("head_name") and village.get("office_address"))),
            "requested_recently": seen.get("requested_recently", 0),
            "serving": seen.get("requested_recently", 0) > 0,
            "last_request_at": seen.get("last_request_at"),
            "issued_total": seen.get("issued_total", 0),
            "realised_percent": money.get(code, {}).get("realised_percent"),
            "dana_desa_budget": money.get(code, {}).get("dana_desa_budget"),
        })
    return rows


def _sorted(rows: list[dict], key: str, descending: bool) -> list[dict]:
    column = SORTS.get(key, "code")
    present = [row for row in rows if row[column] is not None]
    missing = [row for row in rows if row[column] is None]  # empty values always last
    present.sort(key=lambda row: row[column], reverse=descending)
    return present + missing


def _districts(rows: list[dict]) -> list[dict]:
    districts: dict[str, dict] = {}
    for row in rows:
        entry = districts.setdefault(row["district_code"], {
            "code": row["district_code"], "name": row["district_name"], "villages": 0,
            "internet": 0, "serving": 0})
        entry["villages"] += 1
        entry["internet"] += row["internet_installed"]
        entry["serving"] += row["serving"]
    return sorted(districts.values(), key=lambda d: d["name"])


@blueprint.route("/kabupaten")
@web.login_required(roles.REGENCY_ADMIN)
def regency_dashboard():
    year = request.args.get("tahun", type=int) or date.today().year
    year = year if 2000 <= year <= 2100 else date.today().year
    sort = request.args.get("urut", "kode")
    descending = request.args.get("arah") == "turun"
    rows = regency_rows(year)
    return web.page("regency/dashboard.html", rows=_sorted(rows, sort, descending),
                    districts=_districts(rows), year=year, sort=sort, descending=descending,
                    totals={"villages": len(rows),
                            "internet": sum(r["internet_installed"] for r in rows),
                            "serving": sum(r["serving"] for r in rows)})


@blueprint.route("/kabupaten/desa/<code>")
@web.login_required(roles.REGENCY_ADMIN)
def regency_village(code: str):
    village = village_or_404(code)
    year = date.today().year
    counts = services().letters.letter_counts(year, None, code)
    row = next((r for r in regency_rows(year) if r["code"] == code), None)
    return web.page("regency/village.html", village=village, counts=counts, row=row,
                    year=year)
