"""Every village's website (no login), the letter verification page, logging in and out."""
from __future__ import annotations

from datetime import date
from urllib.parse import quote_plus

from flask import redirect, request, url_for

from gateway import readiness
from gateway.auth import issue_token, public
from gateway.http import app_settings
from gateway.portal import blueprint, potential, web
from gateway.rpc import services
from services.common.errors import DesaError, NotFound, ValidationFailed


def apbdes(code: str, year: int | None) -> dict | None:
    """The public APBDes summary of `year`, or of this year or last year when none is given."""
    finance = services().finance
    for wanted in ([year] if year else [date.today().year, date.today().year - 1]):
        try:
            return finance.public_summary(code, wanted)
        except NotFound:
            continue
    return None


def map_link(village: dict) -> str:
    query = f"{village['name']}, {village['district_name']}, {village['regency_name']}"
    return f"https://www.openstreetmap.org/search?query={quote_plus(query)}"


@blueprint.route("/")
@public
def index():
    villages = readiness.villages()
    districts: dict[str, dict] = {}
    for village in villages:
        districts.setdefault(village["district_code"], {
            "name": village["district_name"], "villages": []})["villages"].append(village)
    return web.page("index.html", cache=web.PUBLIC_CACHE, districts=districts,
                    total=len(villages))


@blueprint.route("/desa/<code>")
@public
def village_home(code: str):
    village = web.village_or_404(code)
    statistics = services().registry.population_statistics(code)
    return web.page("village/home.html", cache=web.PUBLIC_CACHE, village=village,
                    statistics=statistics, apbdes=apbdes(code, None), map_link=map_link(village),
                    profile=potential.public_profile(code), posts=potential.latest_posts(code),
                    kind_names=potential.KIND_NAMES)


@blueprint.route("/desa/<code>/statistik")
@public
def village_statistics(code: str):
    village = web.village_or_404(code)
    return web.page("village/statistics.html", cache=web.PUBLIC_CACHE, village=village,
                    statistics=services().registry.population_statistics(code))


@blueprint.route("/desa/<code>/apbdes")
@public
def village_apbdes(code: str):
    village = web.village_or_404(code)
    year = request.args.get("tahun", type=int)
    if year is not None and not 2000 <= year <= 2100:
        year = None
    return web.page("village/apbdes.html", cache=web.PUBLIC_CACHE, village=village,
                    apbdes=apbdes(code, year), year=year)


@blueprint.route("/verifikasi/<token>")
@public
def verify(token: str):
    try:
        result = services().letters.verify_token(token)
    except (NotFound, ValidationFailed):
        result = {"valid": False}
    return web.page("verify.html", result=result)


# -- login ----------------------------------------------------------------------------------

def _safe_next(target: str | None) -> str | None:
    # Only a path on this site: never send a fresh login to another host.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@blueprint.route("/masuk", methods=["GET", "POST"])
def login():
    form, errors, message = {}, {}, None
    if web.actor() is not None and request.method == "GET":
        return redirect(web.home_of(web.actor().role))
    if request.method == "POST":
        form = request.form.to_dict()
        form.pop("pin", None), form.pop("password", None)  # never echoed back
        registry = services().registry
        try:
            if request.form.get("cara") == "warga":
                nik, pin = request.form.get("nik", "").strip(), request.form.get("pin", "")
                if not nik or not pin:
                    raise ValidationFailed("Isi NIK dan PIN.", fields={
                        **({"nik": ["Wajib diisi."]} if not nik else {}),
                        **({"pin": ["Wajib diisi."]} if not pin else {})})
                identity = registry.authenticate_pin(nik, pin)
            else:
                username = request.form.get("username", "").strip()
                password = request.form.get("password", "")
                if not username or not password:
                    raise ValidationFailed("Isi nama pengguna dan kata sandi.", fields={
                        **({"username": ["Wajib diisi."]} if not username else {}),
                        **({"password": ["Wajib diisi."]} if not password else {})})
                identity = registry.authenticate_password(username, password)
            token, ttl = issue_token(identity, app_settings())
        except DesaError as error:
            if error.http_status >= 500:
                raise
            errors = error.fields if error.http_status == 400 else {}
            message = {401: "NIK/PIN atau nama pengguna/kata sandi salah.",
                       429: "Terlalu banyak percobaan yang salah; akun dikunci sementara."}.get(
                error.http_status, error.message)
            return web.page("login.html", code=error.http_status, form=form, errors=errors,
                            message=message)
        target = _safe_next(request.args.get("next"))
        response = redirect(target or web.home_of(identity["role"]), 303)
        return web.log_in(response, token, ttl)
    expired = bool(request.cookies.get(web.COOKIE)) and web.actor() is None
    return web.page("login.html", form=form, errors=errors,
                    message="Sesi Anda berakhir; silakan masuk lagi." if expired else None)


@blueprint.route("/keluar", methods=["POST"])
def logout():
    return web.log_out(redirect(url_for("portal.index"), 303))
