"""The village office: letter queue, residents, family cards, CSV import and finance screens.

Each screen calls the same services with the same scope as the API, so a role sees and does
here exactly what the API lets it (a treasurer has no letter queue, an officer cannot sign).
"""
from __future__ import annotations

import base64
from datetime import date

from flask import Response, redirect, request, url_for

from gateway.auth import scope_for
from gateway.portal import blueprint, web
from gateway.portal.potential_forms import flat_errors
from gateway.portal.resident import SHDK
from gateway.rpc import services
from services.common import roles
from services.common.errors import DesaError
from services.registry import domain as registry_domain

PER_PAGE = 20
QUEUE = ("submitted", "checked", "issued", "rejected")
STAFF = roles.VILLAGE_STAFF
EDUCATION = ("Tidak/Belum Sekolah", "Belum Tamat SD/Sederajat", "Tamat SD/Sederajat",
             "SLTP/Sederajat", "SLTA/Sederajat", "Diploma I/II", "Akademi/Diploma III/S. Muda",
             "Diploma IV/Strata I", "Strata II", "Strata III")
BOOKS = {"general": "Buku Kas Umum", "bank": "Buku Pembantu Bank",
         "tax": "Buku Pembantu Pajak", "advance": "Buku Pembantu Panjar"}
PAYMENT_STEPS = {"verify": (roles.SECRETARY,), "approve": (roles.HEAD,),
                 "reject": (roles.SECRETARY, roles.HEAD), "pay": (roles.TREASURER,)}


def _office():
    who = web.actor()
    return who, who.village_code, scope_for(who), who.as_dict()


def _refusal(error: DesaError) -> tuple[dict, str]:
    """A service's refusal as field errors and one message for the form."""
    if error.http_status >= 500 or error.http_status in (401, 403, 404):
        raise error
    fields = flat_errors(error.fields)  # nested (address.rt) to flat names the form uses
    general = fields.pop("_schema", None)
    if fields:
        return fields, "Periksa kembali isian yang ditandai."
    return fields, " ".join(general) if general else error.message


@blueprint.route("/kantor")
@web.login_required(*STAFF)
def office_home():
    who, code, scope, _ = _office()
    village = services().registry.get_village(code)
    counts = {}
    if who.role in roles.LETTER_CLERKS:
        letters = services().letters
        # only the totals are shown, no letter: not a read of anyone's data (actor None)
        counts = {status: letters.list_village_letters(code, status, 1, 1, scope,
                                                       actor=None)["total"]
                  for status in ("submitted", "checked")}
    return web.page("office/home.html", village=village, counts=counts)


# -- letters --------------------------------------------------------------------------------

@blueprint.route("/kantor/surat")
@web.login_required(*roles.LETTER_CLERKS)
def office_letters():
    _, code, scope, acting = _office()
    status = request.args.get("status", "submitted")
    status = status if status in QUEUE else "submitted"
    page = max(request.args.get("hal", 1, type=int), 1)
    found = services().letters.list_village_letters(code, status, page, PER_PAGE, scope,
                                                    actor=acting)
    return web.page("office/letters.html", found=found, status=status, queue=QUEUE, page=page)


@blueprint.route("/kantor/surat/<letter_id>", methods=["GET", "POST"])
@web.login_required(*roles.LETTER_CLERKS)
def office_letter(letter_id: str):
    who, _, scope, acting = _office()
    letters = services().letters
    errors, message = {}, None
    if request.method == "POST":
        action = request.form.get("aksi")
        try:
            if action == "periksa":
                letters.check_letter(letter_id, scope, acting)
            elif action == "tandatangani" and who.role == roles.HEAD:
                letters.sign_letter(letter_id, scope, acting)
            elif action == "tolak":
                reason = request.form.get("reason", "").strip()
                if len(reason) < 3:
                    raise _FormError({"reason": ["Tulis alasan penolakan (min. 3 huruf)."]})
                letters.reject_letter(letter_id, reason, scope, acting)
            else:
                raise _FormError({}, "Aksi tidak dikenal.")
            return redirect(url_for("portal.office_letter", letter_id=letter_id), 303)
        except _FormError as invalid:
            errors, message = invalid.fields, invalid.message
        except DesaError as error:
            errors, message = _refusal(error)
    letter = letters.get_letter(letter_id, scope, acting)
    history = letters.letter_transitions(letter_id, scope, acting)
    return web.page("office/letter.html", code=400 if message else 200, letter=letter,
                    history=history, errors=errors, message=message,
                    form=request.form.to_dict())


class _FormError(Exception):
    def __init__(self, fields: dict, message: str = "Periksa kembali isian yang ditandai."):
        super().__init__(message)
        self.fields, self.message = fields, message


# -- residents and families -----------------------------------------------------------------

@blueprint.route("/kantor/penduduk")
@web.login_required(*roles.RESIDENT_MANAGERS)
def office_residents():
    _, code, _, acting = _office()
    q = request.args.get("q", "").strip()[:120] or None
    page = max(request.args.get("hal", 1, type=int), 1)
    found = services().registry.search_residents(code, q=q, page=page, per_page=PER_PAGE,
                                                 actor=acting)
    return web.page("office/residents.html", found=found, q=q or "", page=page)


def _resident_body(form: dict) -> dict:
    body = {name: form.get(name, "").strip() or None for name in (
        "nik", "name", "sex", "birth_place", "birth_date", "religion", "marital_status",
        "occupation", "education", "family_number", "phone")}
    if form.get("relationship"):
        body["relationship"] = form["relationship"]
    body["address"] = {part: form.get(f"address.{part}", "").strip() or None
                       for part in ("dusun", "rw", "rt", "street")}
    return {name: value for name, value in body.items() if value is not None}


@blueprint.route("/kantor/penduduk/baru", methods=["GET", "POST"])
@web.login_required(*roles.RESIDENT_MANAGERS)
def office_register_resident():
    _, code, _, acting = _office()
    form, errors, message = {}, {}, None
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            created = services().registry.register_resident(code, _resident_body(form), acting)
            return redirect(url_for("portal.office_resident", nik=created["nik"]), 303)
        except DesaError as error:
            errors, message = _refusal(error)
    return web.page("office/register.html", code=400 if message else 200, form=form,
                    errors=errors, message=message, sexes=registry_domain.SEXES,
                    religions=registry_domain.RELIGIONS,
                    marital=registry_domain.MARITAL_STATUSES, education=EDUCATION)


@blueprint.route("/kantor/penduduk/<nik>", methods=["GET", "POST"])
@web.login_required(*roles.RESIDENT_MANAGERS)
def office_resident(nik: str):
    _, _, scope, acting = _office()
    registry = services().registry
    form, errors, message, pin = {}, {}, None, None
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            if form.get("aksi") == "pin":
                pin = registry.issue_pin(nik, scope, acting)["pin"]
            else:
                event = {name: form[name].strip() for name in (
                    "type", "date", "place", "cause", "destination", "origin", "reason",
                    "circumstances") if form.get(name, "").strip()}
                registry.record_life_event(nik, event, scope, acting)
                return redirect(url_for("portal.office_resident", nik=nik), 303)
        except DesaError as error:
            errors, message = _refusal(error)
    record = registry.get_resident(nik, scope, acting)
    return web.page("office/resident.html", code=400 if message else 200, record=record,
                    form=form, errors=errors, message=message, pin=pin)


@blueprint.route("/kantor/kk")
@web.login_required(*roles.RESIDENT_MANAGERS)
def office_families():
    _, code, _, acting = _office()
    q = request.args.get("q", "").strip()[:120] or None
    page = max(request.args.get("hal", 1, type=int), 1)
    found = services().registry.list_families(code, q, page, PER_PAGE, acting)
    return web.page("office/families.html", found=found, q=q or "", page=page)


@blueprint.route("/kantor/kk/<number>")
@web.login_required(*roles.RESIDENT_MANAGERS)
def office_family(number: str):
    _, _, scope, acting = _office()
    family = services().registry.get_family(number, scope, acting)
    return web.page("office/family.html", family=family, shdk=SHDK)


@blueprint.route("/kantor/impor", methods=["GET", "POST"])
@web.login_required(*roles.RESIDENT_MANAGERS)
def office_import():
    """CSV import: a check first (nothing written), then the import. Both run as a registry
    background job; the form hands over to the job's page, which follows it to its report."""
    _, code, _, acting = _office()
    message = None
    if request.method == "POST":
        upload = request.files.get("berkas")
        dry_run = request.form.get("aksi") != "impor"
        raw = upload.read() if upload is not None else b""
        if not raw:
            message = "Pilih berkas CSV."
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text, message = None, "Berkas harus CSV teks (UTF-8)."
            if text is not None:
                try:
                    job = services().registry.start_import(code, text, dry_run, acting)
                except DesaError as error:
                    _, message = _refusal(error)
                else:
                    return redirect(url_for("portal.office_import_job", job_id=job["id"]), 303)
    return web.page("office/import.html", code=400 if message else 200, report=None,
                    message=message)


@blueprint.route("/kantor/impor/<job_id>")
@web.login_required(*roles.RESIDENT_MANAGERS)
def office_import_job(job_id: str):
    """One import job: its progress while it runs (the page reloads itself every 2 s, no
    script needed), then the report, or the per-row errors of a file that imported nothing."""
    _, code, _, _ = _office()
    job = services().registry.get_import(job_id, code)
    report, message = None, None
    if job["status"] == "succeeded":
        report = job["report"]
    elif job["status"] == "failed":
        error = job.get("error") or {}
        rows = (error.get("fields") or {}).get("rows")
        if rows:
            report = {"dry_run": job["dry_run"], "imported": 0, "families": 0, "rows": None,
                      "errors": rows}
        else:
            message = error.get("message") or "Impor gagal; tidak ada yang disimpan."
    running = job["status"] in ("queued", "running")
    response = web.page("office/import.html", report=report, message=message, job=job,
                        running=running)
    if running:
        response.headers["Refresh"] = "2"
    return response


# -- finance --------------------------------------------------------------------------------

def _year() -> int:
    year = request.args.get("tahun", type=int) or date.today().year
    return year if 2000 <= year <= 2100 else date.today().year


@blueprint.route("/kantor/keuangan")
@web.login_required(*roles.FINANCE_READERS)
def office_budget():
    _, code, scope, _ = _office()
    year = _year()
    try:
        budget = services().finance.get_budget(code, year, scope)
    except DesaError as error:
        if error.http_status != 404:
            raise
        budget = None
    return web.page("office/budget.html", budget=budget, year=year)


@blueprint.route("/kantor/keuangan/spp", methods=["GET", "POST"])
@web.login_required(*roles.FINANCE_READERS)
def office_payments():
    who, code, scope, acting = _office()
    finance = services().finance
    errors, message = {}, None
    if request.method == "POST":
        step, request_id = request.form.get("aksi", ""), request.form.get("id", "")
        body = {}
        if step == "pay":
            body = {"date": request.form.get("date") or date.today().isoformat(),
                    "method": request.form.get("method") or "bank"}
        elif step == "reject":
            body = {"reason": request.form.get("reason", "")}
        try:
            if who.role not in PAYMENT_STEPS.get(step, ()):
                raise _FormError({}, "Peran Anda tidak boleh melakukan langkah ini.")
            finance.payment_request_step(request_id, step, body, scope, acting)
            return redirect(url_for("portal.office_payments", tahun=request.args.get("tahun")),
                            303)
        except _FormError as invalid:
            errors, message = invalid.fields, invalid.message
        except DesaError as error:
            errors, message = _refusal(error)
    year = _year()
    found = finance.list_payment_requests(code, {"year": year, "per_page": 50}, scope)
    return web.page("office/payments.html", code=400 if message else 200, found=found,
                    year=year, errors=errors, message=message, steps=PAYMENT_STEPS,
                    today=date.today().isoformat())


@blueprint.route("/kantor/keuangan/bku")
@web.login_required(*roles.FINANCE_READERS)
def office_cash_book():
    _, code, scope, _ = _office()
    book = request.args.get("buku", "general")
    book = book if book in BOOKS else "general"
    year = _year()
    found = services().finance.cash_book(code, {"book": book, "year": year}, scope)
    return web.page("office/cash_book.html", found=found, book=book, books=BOOKS, year=year)


@blueprint.route("/kantor/keuangan/realisasi")
@web.login_required(*roles.FINANCE_READERS)
def office_realisation():
    _, code, scope, _ = _office()
    year = _year()
    file_format = request.args.get("format")
    finance = services().finance
    if file_format in ("csv", "xlsx", "pdf"):
        result = finance.realisation_file(code, {"year": year, "format": file_format}, scope)
        return Response(base64.b64decode(result["content_base64"]),
                        mimetype=result["content_type"], headers={
                            "Content-Disposition": f'attachment; filename="{result["filename"]}"',
                            "Cache-Control": "private, no-store"})
    try:
        report = finance.realisation(code, {"year": year}, scope)
    except DesaError as error:
        if error.http_status != 404:
            raise
        report = None
    return web.page("office/realisation.html", report=report, year=year)
