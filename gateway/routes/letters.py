"""Letters (surat keterangan): types, requests, workflow, attachments, PDF, public verification.

Documents never travel over RPC: the letters service authorises and names the object, the
gateway streams it to or from object storage (ARCHITECTURE rule 8).
"""
from __future__ import annotations

import base64
import hashlib

from flask import Response, request
from flask_smorest import Blueprint
from werkzeug.datastructures import FileStorage

from gateway import documents
from gateway.auth import current_actor, public, requires, scope_for
from gateway.http import json_body, respond
from gateway.rpc import services
from gateway.schemas import ErrorSchema
from gateway.security import body_limit
from services.common import roles
from services.common.errors import ValidationFailed
from services.common.sniffing import sniff_document
from services.letters.domain import ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES
from services.letters.schemas import (
    AttachmentFormSchema,
    CountSchema,
    CountsQuerySchema,
    IssueStateSchema,
    LetterListQuerySchema,
    LetterPageSchema,
    LetterRequestSchema,
    LetterSchema,
    LetterTypeChangesSchema,
    LetterTypeSchema,
    LetterTypesQuerySchema,
    ParkedQuerySchema,
    ReasonSchema,
    RegisterQuerySchema,
    VerificationSchema,
)

blp = Blueprint("letters", __name__, url_prefix="/api/v1",
                description="Letters: residents request, officers check, the head signs; "
                            "anyone can verify a letter's QR code.")

VILLAGE_USERS = (roles.RESIDENT, *roles.LETTER_CLERKS, roles.REGENCY_ADMIN)
OFFICE = (*roles.LETTER_CLERKS, roles.REGENCY_ADMIN)
REQUESTERS = (roles.RESIDENT, *roles.LETTER_CLERKS)
CHUNK = 64 * 1024


def _upload(what: str) -> FileStorage:
    """The multipart field `file`; `what` names it in the error ("file", "PDF")."""
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed(f"Send the {what} as a multipart field named 'file'.",
                               fields={"file": ["Missing file."]})
    return upload


def _uploaded_file(limit: int) -> tuple[bytes, str | None]:
    upload = _upload("file")
    data = upload.stream.read(limit + 1)  # one byte more tells us it is too large
    return data, upload.filename


# -- letter types ----------------------------------------------------------------------------

@blp.route("/letter-types", methods=["GET"])
@requires(*VILLAGE_USERS)
@blp.arguments(LetterTypesQuerySchema, location="query", error_status_code=400)
@blp.response(200, LetterTypeSchema(many=True))
def list_letter_types(query: dict):
    """The letter types of a village, with whether each is switched on and its wording."""
    scope = scope_for(current_actor(), query["village"])
    return respond(services().letters.list_letter_types(query["village"], scope))


@blp.route("/villages/<code>/letter-types/<type_code>", methods=["PATCH"])
@requires(*roles.LETTER_CONFIGURERS)
@blp.arguments(LetterTypeChangesSchema, error_status_code=400)
@blp.response(200, LetterTypeSchema)
@blp.alt_response(404, schema=ErrorSchema)
def configure_letter_type(changes: dict, code: str, type_code: str):
    """Switch a type on or off, or change its wording (saved as a new template version)."""
    actor = current_actor()
    return respond(services().letters.configure_letter_type(
        code, type_code, json_body(), scope_for(actor, code), actor.as_dict()))


# -- requests --------------------------------------------------------------------------------

@blp.route("/letters", methods=["POST"])
@requires(*REQUESTERS)
@blp.arguments(LetterRequestSchema, error_status_code=400)
@blp.response(201, LetterSchema)
@blp.alt_response(404, schema=ErrorSchema, description="Unknown resident or letter type.")
@blp.alt_response(422, schema=ErrorSchema,
                  description="The resident is dead or moved out, or the type is switched off.")
def request_letter(data: dict):
    """Request a letter: residents about themselves, officers for anyone in their village."""
    actor = current_actor()
    return respond(services().letters.request_letter(json_body(), scope_for(actor),
                                                     actor.as_dict()), 201)


@blp.route("/letters/<letter_id>", methods=["GET"])
@requires(*VILLAGE_USERS)
@blp.response(200, LetterSchema)
@blp.alt_response(404, schema=ErrorSchema)
def get_letter(letter_id: str):
    actor = current_actor()
    return respond(services().letters.get_letter(letter_id, scope_for(actor), actor.as_dict()))


@blp.route("/letters/<letter_id>/transitions", methods=["GET"])
@requires(*VILLAGE_USERS)
@blp.alt_response(404, schema=ErrorSchema)
def letter_transitions(letter_id: str):
    """Who moved the letter from which status to which, and when."""
    actor = current_actor()
    return respond(services().letters.letter_transitions(letter_id, scope_for(actor),
                                                         actor.as_dict()))


@blp.route("/villages/<code>/letters", methods=["GET"])
@requires(*OFFICE)
@blp.arguments(LetterListQuerySchema, location="query", error_status_code=400)
@blp.response(200, LetterPageSchema)
def list_village_letters(query: dict, code: str):
    """The office queue, oldest request first (filter by status)."""
    actor = current_actor()
    scope = scope_for(actor, code)
    return respond(services().letters.list_village_letters(
        code, query["status"], query["page"], query["per_page"], scope, actor=actor.as_dict()))


@blp.route("/residents/<nik>/letters", methods=["GET"])
@requires(*VILLAGE_USERS)
@blp.arguments(LetterListQuerySchema, location="query", error_status_code=400)
@blp.response(200, LetterPageSchema)
def list_resident_letters(query: dict, nik: str):
    """A resident's letters, newest first (residents: only their own)."""
    actor = current_actor()
    return respond(services().letters.list_resident_letters(
        nik, scope_for(actor), actor.as_dict(), query["page"], query["per_page"]))


# -- workflow --------------------------------------------------------------------------------

@blp.route("/letters/<letter_id>/check", methods=["POST"])
@requires(*roles.LETTER_CLERKS)
@blp.response(200, LetterSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Not in a state that allows it.")
def check_letter(letter_id: str):
    actor = current_actor()
    return respond(services().letters.check_letter(letter_id, scope_for(actor),
                                                   actor.as_dict()))


@blp.route("/letters/<letter_id>/sign", methods=["POST"])
@requires(roles.HEAD)
@blp.response(200, LetterSchema, description="Signed and numbered; issued once its PDF is "
                                             "stored (normally in the same call).")
@blp.alt_response(409, schema=ErrorSchema, description="Not checked, or already signed.")
def sign_letter(letter_id: str):
    """The village head signs: the letter gets its number and its PDF."""
    actor = current_actor()
    return respond(services().letters.sign_letter(letter_id, scope_for(actor),
                                                  actor.as_dict()))


@blp.route("/letters/<letter_id>/reject", methods=["POST"])
@requires(*roles.LETTER_CLERKS)
@blp.arguments(ReasonSchema, error_status_code=400)
@blp.response(200, LetterSchema)
@blp.alt_response(409, schema=ErrorSchema)
def reject_letter(body: dict, letter_id: str):
    actor = current_actor()
    return respond(services().letters.reject_letter(letter_id, body["reason"], scope_for(actor),
                                                    actor.as_dict()))


@blp.route("/letters/<letter_id>/cancel", methods=["POST"])
@requires(*REQUESTERS)
@blp.arguments(ReasonSchema, error_status_code=400)
@blp.response(200, LetterSchema)
@blp.alt_response(409, schema=ErrorSchema)
def cancel_letter(body: dict, letter_id: str):
    actor = current_actor()
    return respond(services().letters.cancel_letter(letter_id, body["reason"], scope_for(actor),
                                                    actor.as_dict()))


# -- documents -------------------------------------------------------------------------------

@blp.route("/letters/<letter_id>/attachments", methods=["POST"])
@requires(*REQUESTERS)
@blp.arguments(AttachmentFormSchema, location="form", error_status_code=400)
@blp.response(201, LetterSchema)
@blp.alt_response(400, schema=ErrorSchema, description="Not a PDF, JPEG or PNG, or too large.")
def add_attachment(form: dict, letter_id: str):
    """Attach a scan (KTP, KK, RT/RW cover letter): multipart field `file`, and `kind`."""
    actor = current_actor()
    scope = scope_for(actor)
    letters = services().letters
    target = letters.attachment_key(letter_id, scope, actor.as_dict())
    data, filename = _uploaded_file(MAX_ATTACHMENT_BYTES)
    # Refused here before it is stored; the service checks the stored bytes again.
    content_type = sniff_document(data, len(data), ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES)
    documents.store().put_bytes(target["key"], data, content_type)
    return respond(letters.record_attachment(letter_id, {
        "key": target["key"], "kind": form["kind"], "filename": filename}, scope,
        actor.as_dict()), 201)


@blp.route("/letters/<letter_id>/pdf", methods=["GET"])
@requires(*VILLAGE_USERS)
@blp.response(200, description="The signed letter as a PDF.",
              content_type="application/pdf")
@blp.alt_response(409, schema=ErrorSchema, description="Not issued yet.")
@blp.alt_response(503, schema=ErrorSchema, description="Document storage is unavailable.")
def download_pdf(letter_id: str):
    actor = current_actor()
    location = services().letters.open_pdf(letter_id, scope_for(actor), actor.as_dict())
    return documents.download(location)


@blp.route("/letters/<letter_id>/attachments/<attachment_id>", methods=["GET"])
@requires(*VILLAGE_USERS)
@blp.response(200, description="A document sent with the request (PDF, JPEG or PNG).")
@blp.alt_response(404, schema=ErrorSchema)
def download_attachment(letter_id: str, attachment_id: str):
    """A document sent with a request (KTP, KK, cover letter), for whoever may see the letter."""
    actor = current_actor()
    location = services().letters.open_attachment(letter_id, attachment_id, scope_for(actor),
                                                   actor.as_dict())
    return documents.download(location)


# -- signed letters waiting for their PDF ----------------------------------------------------

PDF_OPERATORS = (roles.OPERATOR, roles.REGENCY_ADMIN, *roles.LETTER_CLERKS)


def _issue_scope(village: str | None = None) -> str | None:
    """Operators see these lists regency-wide: they carry no resident data. Village staff
    asking for another village's list get 403, as for any other village's path."""
    actor = current_actor()
    return None if actor.role == roles.OPERATOR else scope_for(actor, village)


@blp.route("/letters/parked", methods=["GET"])
@requires(*PDF_OPERATORS)
@blp.arguments(ParkedQuerySchema, location="query", error_status_code=400)
@blp.response(200, IssueStateSchema(many=True))
def list_parked_letters(query: dict):
    """Signed letters whose PDF failed too often (object storage down) and wait for a retry."""
    return respond(services().letters.list_parked_letters(_issue_scope(query["village"]),
                                                          query["village"]))


@blp.route("/letters/<letter_id>/issue", methods=["POST"])
@requires(*PDF_OPERATORS)
@blp.response(200, IssueStateSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Not a signed letter waiting for its PDF.")
def retry_issue(letter_id: str):
    """Make and store the PDF of a signed letter now (a parked one starts a fresh round)."""
    return respond(services().letters.retry_issue(letter_id, _issue_scope()))


# -- public verification ---------------------------------------------------------------------

@blp.route("/verify/<token>", methods=["GET"])
@public
@blp.response(200, VerificationSchema)
def verify_token(token: str):
    """Is the letter behind this QR code genuine? Holder data comes back masked."""
    return respond(services().letters.verify_token(token))


# An issued letter is a page or two of PDF: anonymous uploads stay far below the 10 MiB.
VERIFY_MAX_BYTES = 4 * 1024 * 1024


@blp.route("/verify", methods=["POST"])
@public
@body_limit(VERIFY_MAX_BYTES)
@blp.response(200, VerificationSchema)
def verify_pdf():
    """Upload a PDF (multipart field `file`): is this exact file a letter the village issued?"""
    upload = _upload("PDF")
    digest = hashlib.sha256()
    for chunk in iter(lambda: upload.stream.read(CHUNK), b""):
        digest.update(chunk)
    return respond(services().letters.verify_pdf(digest.hexdigest()))


# -- office views ----------------------------------------------------------------------------

@blp.route("/villages/<code>/letters/register", methods=["GET"])
@requires(*OFFICE)
@blp.arguments(RegisterQuerySchema, location="query", error_status_code=400)
@blp.response(200, description="Buku Agenda surat keluar as CSV or XLSX.")
def letter_register(query: dict, code: str):
    """The outgoing-letter register (Buku Agenda) of a period: `from`, `to`, `format`."""
    actor = current_actor()
    scope = scope_for(actor, code)
    result = services().letters.letter_register(
        code, query["date_from"].isoformat(), query["date_to"].isoformat(), query["format"],
        scope, actor=actor.as_dict())
    return Response(base64.b64decode(result["content_base64"]),
                    mimetype=result["content_type"], headers={
                        "Content-Disposition": f'attachment; filename="{result["filename"]}"'})


@blp.route("/letter-stats", methods=["GET"])
@requires(*OFFICE)
@blp.arguments(CountsQuerySchema, location="query", error_status_code=400)
@blp.response(200, CountSchema(many=True))
def letter_counts(query: dict):
    """Letters requested and issued per village and month (regency dashboard)."""
    scope = scope_for(current_actor(), query["village"])
    return respond(services().letters.letter_counts(query["year"], scope, query["village"]))
