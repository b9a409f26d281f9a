"""The portal's plumbing: the login cookie, CSRF, who may see a page, rendering and formats.

Pages are rendered on the server (Jinja2, Flask's own) and call the services through the same
RPC pool as the API. The login is the API's JWT kept in an HttpOnly, SameSite=Lax cookie; the
request's actor is set where `gateway.auth.current_actor` finds it, so the API's scope rules
(`scope_for`) apply to every page unchanged.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Response, abort, g, redirect, render_template, request, url_for

from gateway.auth import Actor, verify_token
from gateway.http import app_settings
from gateway.portal import messages
from gateway.rpc import services
from services.common import roles
from services.common.errors import NotFound, Unauthenticated, ValidationFailed

COOKIE = "desa_sesi"
PUBLIC_CACHE = "public, max-age=60"
THUMBNAIL_SIDE = 320
# Pages ship no script at all; bar charts set their widths in style attributes.
PAGE_CSP = ("default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
CSRF_FIELD = "csrf"
WIB = ZoneInfo("Asia/Jakarta")
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")
ROLE_NAMES = {roles.RESIDENT: "Warga", roles.OFFICER: "Operator desa",
              roles.SECRETARY: "Sekretaris desa", roles.TREASURER: "Kaur Keuangan",
              roles.HEAD: "Kepala desa", roles.REGENCY_ADMIN: "Admin kabupaten",
              roles.DISTRICT_ADMIN: "Admin kecamatan", roles.OPERATOR: "Operator platform"}
STATUS_NAMES = {"submitted": "Diajukan", "checked": "Diperiksa", "signed": "Ditandatangani",
                "issued": "Terbit", "rejected": "Ditolak", "cancelled": "Dibatalkan",
                "draft": "Draf", "approved": "Disetujui", "amended": "Perubahan",
                "verified": "Diverifikasi", "paid": "Dibayar", "accounted": "Di-SPJ-kan",
                "alive": "Hidup", "dead": "Meninggal", "moved_out": "Pindah",
                "missing": "Hilang", "temporary": "Sementara"}


# -- the login cookie -----------------------------------------------------------------------

def load_actor() -> None:
    """Before every portal request: the actor of a valid login cookie, or nobody."""
    g.portal_actor = None
    token = request.cookies.get(COOKIE)
    if not token:
        return
    try:
        actor = verify_token(token, app_settings())
    except Unauthenticated:
        g.portal_expired = True
        return
    g.portal_actor = g.desa_actor = actor


def actor() -> Actor | None:
    return g.get("portal_actor")


def log_in(response: Response, token: str, ttl: int) -> Response:
    secure = app_settings().public_url.startswith("https://")
    response.set_cookie(COOKIE, token, max_age=ttl, httponly=True, samesite="Lax",
                        secure=secure, path="/")
    return response


def log_out(response: Response) -> Response:
    response.delete_cookie(COOKIE, path="/")
    return response


def csrf_token() -> str:
    """Tied to the login cookie: a form from another site cannot know it."""
    token = request.cookies.get(COOKIE, "")
    return hmac.new(app_settings().jwt_secret.encode(), token.encode(),
                    hashlib.sha256).hexdigest()[:32]


def check_csrf() -> None:
    if request.method == "POST" and request.cookies.get(COOKIE):
        sent = request.form.get(CSRF_FIELD, "")
        if not hmac.compare_digest(sent, csrf_token()):
            abort(400, "Formulir kedaluwarsa; muat ulang halaman dan coba lagi.")


def login_required(*allowed: str) -> Callable:
    """Only these roles see the page; others are sent to the login (or refused with 403)."""
    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            who = actor()
            if who is None:
                return redirect(url_for("portal.login", next=request.full_path.rstrip("?")))
            if who.role not in allowed:
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def home_of(role: str) -> str:
    """Where a role lands after logging in."""
    if role == roles.RESIDENT:
        return url_for("portal.resident_home")
    if role in roles.VILLAGE_STAFF:
        return url_for("portal.office_home")
    if role == roles.DISTRICT_ADMIN:
        return url_for("portal.own_district")
    return url_for("portal.regency_dashboard")


# -- rendering ------------------------------------------------------------------------------

def page(template: str, code: int = 200, cache: str | None = None, **context) -> Response:
    """Render a page with HTTP status `code` (templates may use `status` for their own)."""
    response = Response(render_template(template, **context), status=code,
                        mimetype="text/html")
    # Personal pages never go into a shared cache; public ones may, briefly.
    response.headers["Cache-Control"] = cache or "private, no-store"
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def village_or_404(code: str) -> dict:
    try:
        return services().registry.get_village(code)
    except (NotFound, ValidationFailed):
        raise NotFound("Desa tidak ditemukan") from None


def rupiah(value: int | None) -> str:
    if value is None:
        return "-"
    sign = "-" if value < 0 else ""
    return f"{sign}Rp{abs(int(value)):,}".replace(",", ".")


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}".replace(".", ",") + "%"


def tanggal(value: str | date | datetime | None) -> str:
    """A date (or time, shown in WIB) the Indonesian way: 2 Maret 2026, 14.05 WIB."""
    if not value:
        return "-"
    if isinstance(value, str):
        return _tanggal_of_text(value)
    return _tanggal(value)


@functools.lru_cache(maxsize=4096)
def _tanggal_of_text(value: str) -> str:
    """The services send dates as ISO text; a page repeats them (the regency table's 326
    last-activity times), so each is parsed and converted once."""
    return _tanggal(datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value))


def _tanggal(value: date | datetime) -> str:
    if isinstance(value, datetime):
        local = value.astimezone(WIB)
        return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H.%M} WIB"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def mask(number: str | None) -> str:
    """NIK or No. KK on a public page: only the region prefix and the last two digits."""
    if not number:
        return "-"
    return number[:6] + "*" * (len(number) - 8) + number[-2:]


def template_globals() -> dict:
    return {"actor": actor(), "csrf_token": csrf_token, "role_names": ROLE_NAMES,
            "status_names": STATUS_NAMES, "roles": roles, "rupiah_fmt": rupiah}


def thumbnail_size(photo: dict) -> tuple[int, int]:
    """Width and height of a photo's thumbnail (the potential service's fit in 320 x 320), so
    the page reserves the box before the lazy image loads."""
    width, height = photo.get("width") or THUMBNAIL_SIDE, photo.get("height") or THUMBNAIL_SIDE
    scale = min(1.0, THUMBNAIL_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


FILTERS = {"rupiah": rupiah, "persen": percent, "tanggal": tanggal, "samarkan": mask,
           "ukuran_thumbnail": thumbnail_size,
           "zip_pairs": lambda values: [(value, value) for value in values],
           "indonesian": messages.indonesian}
