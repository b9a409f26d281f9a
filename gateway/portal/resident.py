"""Residents on their phones: own record and family card, requesting and following letters."""
from __future__ import annotations

from flask import redirect, request, url_for

from gateway.auth import scope_for
from gateway.portal import blueprint, documents, web
from gateway.rpc import services
from services.common import roles
from services.common.errors import DesaError, NotFound

DOCUMENT_NAMES = {"ktp": "Foto KTP", "kk": "Foto Kartu Keluarga",
                  "cover_letter": "Surat pengantar RT/RW", "other": "Dokumen lain"}
FIELD_LABELS = {
    "need": "Keperluan SKTM", "business_name": "Nama usaha", "business_type": "Jenis usaha",
    "business_address": "Alamat usaha", "since": "Berdiri sejak tahun",
    "lost_item": "Barang yang hilang", "lost_date": "Tanggal hilang",
    "lost_place": "Tempat hilang", "circumstances": "Kronologi",
    "destination_address": "Alamat tujuan", "reason": "Alasan pindah",
    "event_name": "Nama acara", "event_date": "Tanggal acara", "event_time": "Jam acara",
    "event_place": "Tempat acara", "entertainment": "Hiburan", "guests": "Perkiraan tamu"}
FIELD_CHOICES = {"need": [("sekolah", "Sekolah"), ("rumah_sakit", "Rumah sakit"),
                          ("bantuan", "Bantuan sosial"), ("lainnya", "Lainnya")]}
INPUT_TYPES = {"Date": "date", "Integer": "number"}
SHDK = {1: "Kepala Keluarga", 2: "Suami", 3: "Istri", 4: "Anak", 5: "Menantu", 6: "Cucu",
        7: "Orang Tua", 8: "Mertua", 9: "Famili Lain", 10: "Pembantu", 11: "Lainnya"}


def _me():
    who = web.actor()
    return who, scope_for(who), who.as_dict()


@blueprint.route("/warga")
@web.login_required(roles.RESIDENT)
def resident_home():
    who, scope, acting = _me()
    registry, letters = services().registry, services().letters
    record = registry.get_resident(who.nik, scope, acting)
    family = None
    if record.get("family_number"):
        try:
            family = registry.get_family(record["family_number"], scope, acting)
        except NotFound:
            family = None
    mine = letters.list_resident_letters(who.nik, scope, acting, 1, 20)
    return web.page("resident/home.html", record=record, family=family, letters=mine["items"],
                    shdk=SHDK)


def _letter_types(village_code: str, scope: str) -> list[dict]:
    return [t for t in services().letters.list_letter_types(village_code, scope)
            if t["enabled"] and t["resident_may_request"]]


@blueprint.route("/warga/surat/baru")
@web.login_required(roles.RESIDENT)
def letter_types():
    who, scope, _ = _me()
    return web.page("resident/letter_types.html", types=_letter_types(who.village_code, scope))


def _fields_of(letter_type: dict) -> list[dict]:
    return [{"name": name, "label": FIELD_LABELS.get(name, name.replace("_", " ").capitalize()),
             "required": spec["required"], "input": INPUT_TYPES.get(spec["type"], "text"),
             "choices": FIELD_CHOICES.get(name)}
            for name, spec in letter_type["fields"].items() if spec["type"] != "List"]


@blueprint.route("/warga/surat/baru/<type_code>", methods=["GET", "POST"])
@web.login_required(roles.RESIDENT)
def request_letter(type_code: str):
    who, scope, acting = _me()
    letter_type = next((t for t in _letter_types(who.village_code, scope)
                        if t["type_code"] == type_code), None)
    if letter_type is None:
        raise NotFound("Jenis surat tidak tersedia")
    fields = _fields_of(letter_type)
    form, errors, message = {}, {}, None
    if request.method == "POST":
        form = request.form.to_dict()
        letters = services().letters
        try:
            uploads, upload_errors = {}, {}
            for kind in letter_type["required_documents"]:
                upload = request.files.get(f"dok_{kind}")
                if upload is None or not upload.filename:
                    upload_errors[f"dok_{kind}"] = ["Wajib dilampirkan."]
                    continue
                try:
                    data, content_type = documents.read_attachment(upload, f"dok_{kind}")
                except DesaError as error:
                    upload_errors.update(error.fields)
                    continue
                uploads[kind] = (data, content_type, upload.filename)
            body = {"type_code": type_code, "purpose": form.get("purpose") or None,
                    "fields": {f["name"]: form[f["name"]] for f in fields
                               if form.get(f["name"])}}
            if upload_errors:
                raise _Invalid(upload_errors)
            letter = letters.request_letter(body, scope, acting)
            for kind, upload in uploads.items():
                documents.attach(letters, letter["id"], kind, upload, scope, acting)
        except _Invalid as invalid:
            errors = invalid.fields
            message = "Periksa kembali isian yang ditandai."
        except DesaError as error:
            if error.http_status >= 500 or error.http_status in (401, 403):
                raise
            errors = dict(error.fields)
            nested = errors.pop("fields", None)  # the type's own fields come back nested
            if isinstance(nested, dict):
                errors.update(nested)
            message = "Periksa kembali isian yang ditandai." if errors else error.message
        else:
            return redirect(url_for("portal.resident_letter", letter_id=letter["id"],
                                    baru=1), 303)
    return web.page("resident/request.html", code=400 if message else 200,
                    letter_type=letter_type, fields=fields, form=form, errors=errors,
                    message=message, document_names=DOCUMENT_NAMES)


class _Invalid(Exception):
    def __init__(self, fields: dict):
        super().__init__("invalid")
        self.fields = fields


@blueprint.route("/warga/surat/<letter_id>", methods=["GET", "POST"])
@web.login_required(roles.RESIDENT, *roles.LETTER_CLERKS)
def resident_letter(letter_id: str):
    """A letter as its requester follows it: status, history, documents, the PDF."""
    who, scope, acting = _me()
    letters = services().letters
    errors, message = {}, None
    if request.method == "POST":
        upload = request.files.get("berkas")
        kind = request.form.get("kind", "other")
        try:
            if upload is None or not upload.filename:
                raise _Invalid({"berkas": ["Pilih foto atau berkas."]})
            data, content_type = documents.read_attachment(upload, "berkas")
            documents.attach(letters, letter_id, kind if kind in DOCUMENT_NAMES else "other",
                             (data, content_type, upload.filename), scope, acting)
            return redirect(url_for("portal.resident_letter", letter_id=letter_id), 303)
        except _Invalid as invalid:
            errors, message = invalid.fields, "Berkas belum terkirim."
        except DesaError as error:
            if error.http_status >= 500 or error.http_status in (401, 403, 404):
                raise
            errors, message = error.fields, error.message
    letter = letters.get_letter(letter_id, scope, acting)
    history = letters.letter_transitions(letter_id, scope, acting)
    return web.page("resident/letter.html", code=400 if message else 200, letter=letter,
                    history=history, errors=errors, message=message,
                    document_names=DOCUMENT_NAMES, fresh=request.args.get("baru"))


@blueprint.route("/surat/<letter_id>/pdf")
@web.login_required(roles.RESIDENT, *roles.LETTER_CLERKS, roles.REGENCY_ADMIN)
def letter_pdf(letter_id: str):
    who, scope, acting = _me()
    location = services().letters.open_pdf(letter_id, scope, acting)
    return documents.stream(location, "application/pdf")


@blueprint.route("/surat/<letter_id>/lampiran/<attachment_id>")
@web.login_required(roles.RESIDENT, *roles.LETTER_CLERKS, roles.REGENCY_ADMIN)
def letter_attachment(letter_id: str, attachment_id: str):
    who, scope, acting = _me()
    location = services().letters.open_attachment(letter_id, attachment_id, scope, acting)
    return documents.stream(location, location["content_type"], "inline")
