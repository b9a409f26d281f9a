"""Staff accounts on the portal (decision 0100): the head's "Akun petugas" in the office, the
regency admin's equivalent, and "Ganti kata sandi" for every staff user.

The pages call the same registry functions as the API with the logged-in actor, so a head sees
and changes here exactly the accounts the API lets them (their village's office staff).
"""
from __future__ import annotations

from flask import request

from gateway.http import app_settings
from gateway.portal import blueprint, web
from gateway.portal.potential_forms import flat_errors
from gateway.rpc import services
from services.common import roles
from services.common.errors import DesaError, TooManyAttempts

PER_PAGE = 50
CHECK = "Periksa kembali isian yang ditandai."
SECRETS = ("password", "current_password", "new_password", "new_password_again")
DONE = {"nonaktifkan": "Akun {0} dinonaktifkan: tidak dapat masuk lagi. Sesi yang sudah terbuka "
                       "berakhir paling lambat {1} menit lagi.",
        "aktifkan": "Akun {0} aktif kembali."}


def _refusal(error: DesaError) -> tuple[dict, str]:
    """A refusal as field errors and one message; 403 and 404 are pages of their own."""
    if error.http_status >= 500 or error.http_status in (401, 403, 404):
        raise error
    if isinstance(error, TooManyAttempts):
        return {}, error.message
    fields = flat_errors(error.fields)
    general = fields.pop("_schema", None)
    if fields:
        return fields, CHECK
    return fields, " ".join(general) if general else error.message


def _kept(form) -> dict:
    """The form as typed, without any password (never echoed back)."""
    return {name: value for name, value in form.to_dict().items() if name not in SECRETS}


def _new_account(form: dict, who) -> dict:
    body = {"role": form.get("role", ""), "username": form.get("username", "").strip().lower(),
            "password": request.form.get("password", "")}
    if who.role in roles.VILLAGE_BOUND:
        body["village_code"] = who.village_code
    elif body["role"] in roles.DISTRICT_BOUND:
        body["district_code"] = form.get("district_code", "").strip() or None
    else:
        body["village_code"] = form.get("village_code", "").strip() or None
    return body


def _accounts_page(template: str, endpoint: str):
    who = web.actor()
    acting = who.as_dict()
    registry = services().registry
    form, errors, message, done, reset = {}, {}, None, None, None
    if request.method == "POST":
        form = _kept(request.form)
        action = form.get("aksi")
        try:
            if action == "buat":
                created = registry.create_managed_account(_new_account(form, who), acting)
                done, form = f"Akun {created['username']} dibuat.", {}
            elif action in DONE:
                changed = registry.set_account_active(form.get("akun", ""),
                                                      action == "aktifkan", acting)
                minutes = max(1, app_settings().token_ttl_seconds // 60)
                done, form = DONE[action].format(changed["username"], minutes), {}
            elif action == "reset":
                reset, form = registry.reset_account_password(form.get("akun", ""), acting), {}
            else:
                message = "Aksi tidak dikenal."
        except DesaError as error:
            errors, message = _refusal(error)
    q = request.args.get("q", "").strip()[:64] or None
    village = (request.args.get("desa", "").strip() or None
               if who.role not in roles.VILLAGE_BOUND else None)
    page = max(request.args.get("hal", 1, type=int), 1)
    try:
        found = registry.list_accounts(acting, village_code=village, q=q, page=page,
                                       per_page=PER_PAGE)
    except DesaError as error:  # a malformed filter: show the whole list with the reason
        found = registry.list_accounts(acting, page=1, per_page=PER_PAGE)
        message = message or _refusal(error)[1]
        errors = {**errors, **{f"filter.{k}": v for k, v in flat_errors(error.fields).items()}}
    return web.page(template, code=400 if message else 200, found=found, form=form,
                    errors=errors, message=message, done=done, reset=reset, q=q or "",
                    village=village or "", page=page, endpoint=endpoint,
                    managed=[(role, web.ROLE_NAMES[role])
                                             for role in roles.MANAGED_ROLES[who.role]])


@blueprint.route("/kantor/akun", methods=["GET", "POST"])
@web.login_required(roles.HEAD)
def office_accounts():
    """Akun petugas: the head's officers, secretaries and treasurers."""
    return _accounts_page("office/accounts.html", "portal.office_accounts")


@blueprint.route("/kabupaten/akun", methods=["GET", "POST"])
@web.login_required(roles.REGENCY_ADMIN)
def regency_accounts():
    """Every village's staff and the district admins."""
    return _accounts_page("regency/accounts.html", "portal.regency_accounts")


@blueprint.route("/akun/kata-sandi", methods=["GET", "POST"])
@web.login_required(*roles.STAFF)
def change_password():
    """Ganti kata sandi: the current password, the new one twice."""
    errors, message, done = {}, None, False
    if request.method == "POST":
        current = request.form.get("current_password", "")
        new, again = request.form.get("new_password", ""), request.form.get(
            "new_password_again", "")
        if new != again:
            errors, message = {"new_password_again": ["Kata sandi baru tidak sama."]}, CHECK
        else:
            try:
                services().registry.change_password(web.actor().username, current, new,
                                                    request.remote_addr)
                done = True
            except DesaError as error:
                errors, message = _refusal(error)
    return web.page("account/password.html", code=400 if message else 200, form={},
                    errors=errors, message=message, done=done)
