"""Residents (penduduk): registration, search, record, history, who read it, life events, PIN,
CSV import."""
from __future__ import annotations

from flask import request, url_for
from flask_smorest import Blueprint

from gateway.auth import current_actor, requires, scope_for
from gateway.collapse import collapsed
from gateway.http import if_match, json_body, respond, versioned
from gateway.rpc import services
from gateway.schemas import ErrorSchema, ImportQuery
from services.common import roles
from services.common.errors import Forbidden, ValidationFailed
from services.registry.schemas.accounts import PinIssued
from services.registry.schemas.imports import ImportJobView
from services.registry.schemas.residents import (
    LifeEventInput,
    LifeEventResult,
    Resident,
    ResidentChange,
    ResidentInput,
    ResidentPage,
    ResidentReadPage,
    ResidentReadsArgs,
    ResidentSearchArgs,
    ResidentUpdate,
)

blp = Blueprint("residents", __name__, url_prefix="/api/v1",
                description="Residents of a village. Officers and heads see their own village.")

CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel")


@blp.route("/villages/<code>/residents", methods=["POST"])
@requires(*roles.RESIDENT_MANAGERS)
@blp.arguments(ResidentInput, error_status_code=400)
@blp.response(201, Resident)
@blp.alt_response(409, schema=ErrorSchema, description="The NIK is already registered.")
def register_resident(data: dict, code: str):
    actor = current_actor()
    scope_for(actor, code)
    return respond(services().registry.register_resident(code, json_body(), actor.as_dict()),
                   201)


@blp.route("/villages/<code>/residents", methods=["GET"])
@requires(*roles.RESIDENT_MANAGERS)
@blp.arguments(ResidentSearchArgs, location="query", error_status_code=400)
@blp.response(200, ResidentPage)
def search_residents(query: dict, code: str):
    actor = current_actor()
    scope_for(actor, code)
    return respond(services().registry.search_residents(code, **query, actor=actor.as_dict()))


@blp.route("/residents", methods=["GET"])
@requires(*roles.RESIDENT_MANAGERS)
@blp.arguments(ResidentSearchArgs, location="query", error_status_code=400)
@blp.response(200, ResidentPage)
def search_all_residents(query: dict):
    """Search by name or NIK: across the regency for a regency admin, else the own village.

    Results come in name order. Across the regency at most 1,000 matches are taken: with
    more, `total` is 1,000 and `total_capped` is true (the pages then hold those 1,000 in
    name order); narrow the search. Within a village `total` is exact."""
    actor = current_actor()
    return respond(services().registry.search_residents(scope_for(actor), **query,
                                                        actor=actor.as_dict()))


@blp.route("/residents/<nik>", methods=["GET"])
@requires(roles.RESIDENT, *roles.RESIDENT_MANAGERS)
@blp.response(200, Resident)
@blp.alt_response(404, schema=ErrorSchema)
def get_resident(nik: str):
    """A resident's record: officers of their village, or the resident themself."""
    actor = current_actor()
    if actor.role == "resident" and nik != actor.nik:
        raise Forbidden("Residents may only read their own record.")
    # Collapsed with the reads other threads make at the same time (decision 0101): registry
    # answers each one as `get_resident` would, in one batch call.
    return versioned(collapsed("registry", "get_residents", {
        "nik": nik, "scope": scope_for(actor), "actor": actor.as_dict()}))


@blp.route("/residents/<nik>", methods=["PATCH"])
@requires(*roles.RESIDENT_MANAGERS)
@blp.arguments(ResidentUpdate, error_status_code=400)
@blp.response(200, Resident)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(412, schema=ErrorSchema,
                  description="If-Match named a version of the record that is no longer "
                              "current: someone saved it in between; nothing was changed.")
def update_resident(changes: dict, nik: str):
    """A change of the record. Send the ETag of the read as If-Match to have the change
    refused (412) when someone changed the record in between."""
    actor = current_actor()
    return versioned(services().registry.update_resident(nik, json_body(), scope_for(actor),
                                                         actor.as_dict(), if_match()))


@blp.route("/residents/<nik>/history", methods=["GET"])
@requires(*roles.RESIDENT_MANAGERS)
@blp.response(200, ResidentChange(many=True), description="Changes, oldest first.")
@blp.alt_response(404, schema=ErrorSchema)
def resident_history(nik: str):
    actor = current_actor()
    return respond(services().registry.resident_history(nik, scope_for(actor),
                                                        actor.as_dict()))


@blp.route("/residents/<nik>/reads", methods=["GET"])
@requires(roles.RESIDENT, *roles.RESIDENT_MANAGERS)
@blp.arguments(ResidentReadsArgs, location="query", error_status_code=400)
@blp.response(200, ResidentReadPage, description="Reads of the record, newest first.")
@blp.alt_response(404, schema=ErrorSchema)
def resident_reads(query: dict, nik: str):
    """Who read a resident's record, when and why (UU 27/2022 PDP).

    Officers and heads of the resident's village, regency admins, and the resident themself
    (their right of access) may see it.
    """
    actor = current_actor()
    if actor.role == "resident" and nik != actor.nik:
        raise Forbidden("Residents may only see who read their own record.")
    return respond(services().registry.resident_reads(nik, scope_for(actor), **query))


@blp.route("/residents/<nik>/events", methods=["POST"])
@requires(*roles.RESIDENT_MANAGERS)
@blp.arguments(LifeEventInput, error_status_code=400)
@blp.response(201, LifeEventResult,
              description="The event and the resident; for a birth, the child.")
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
def record_life_event(event: dict, nik: str):
    """Record a birth, death, move out, move in or disappearance (mutasi penduduk)."""
    actor = current_actor()
    return respond(services().registry.record_life_event(nik, json_body(), scope_for(actor),
                                                         actor.as_dict()), 201)


@blp.route("/residents/<nik>/pin", methods=["POST"])
@requires(*roles.RESIDENT_MANAGERS)
@blp.response(201, PinIssued)
@blp.alt_response(404, schema=ErrorSchema)
def issue_pin(nik: str):
    """Issue a new login PIN for a resident, shown once (only its hash is kept)."""
    actor = current_actor()
    return respond(services().registry.issue_pin(nik, scope_for(actor), actor.as_dict()), 201)


def _uploaded_csv() -> str:
    upload = request.files.get("file")
    if upload is not None:
        raw = upload.read()
    elif request.mimetype in CSV_TYPES:
        raw = request.get_data()
    else:
        raise ValidationFailed("Send the CSV as a multipart field named 'file' or as a text/csv "
                               "body.", fields={"file": ["Missing CSV file."]})
    if not raw.strip():
        raise ValidationFailed("The CSV file is empty.", fields={"file": ["Empty file."]})
    try:
        # utf-8-sig: spreadsheets saved as "CSV UTF-8" start with a byte order mark.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("The CSV file is not UTF-8 text.",
                               fields={"file": ["Save the spreadsheet as CSV UTF-8."]}) from exc


@blp.route("/villages/<code>/residents/import", methods=["POST"])
@requires(*roles.RESIDENT_MANAGERS)
@blp.arguments(ImportQuery, location="query", error_status_code=400)
@blp.doc(requestBody={"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}}}},
    "text/csv": {"schema": {"type": "string"}}}})
@blp.response(202, ImportJobView,
              description="The import job, queued; follow `url` (also the Location header).")
@blp.alt_response(404, schema=ErrorSchema, description="Unknown village.")
def import_residents(query: dict, code: str):
    """Import residents and families from a CSV, in the background.

    The job parses and checks every row, then writes all of them or none: a file with any broken
    row imports nothing (the job fails with the per-row errors in `error.fields.rows`).
    """
    actor = current_actor()
    scope_for(actor, code)
    csv_text = _uploaded_csv()
    job = services().registry.start_import(code, csv_text, query["dry_run"], actor.as_dict())
    url = url_for("residents.import_job", code=code, job_id=job["id"])
    response = respond({**job, "url": url}, 202)
    response.headers["Location"] = url
    return response


@blp.route("/villages/<code>/residents/imports/<job_id>", methods=["GET"])
@requires(*roles.RESIDENT_MANAGERS)
@blp.response(200, ImportJobView)
@blp.alt_response(404, schema=ErrorSchema)
def import_job(code: str, job_id: str):
    """An import job: its progress while it runs, then its report or its per-row errors."""
    actor = current_actor()
    scope_for(actor, code)
    job = services().registry.get_import(job_id, code)
    return respond({**job, "url": url_for("residents.import_job", code=code, job_id=job_id)})
