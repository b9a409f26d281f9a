"""Letter requests and their workflow steps: request, check, reject, cancel."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from services.common import audit, clock, roles
from services.common.errors import NotFound, ValidationFailed
from services.common.events import to_json_safe
from services.common.fields import load
from services.common.outbox import Outbox
from services.common.tenancy import in_scope
from services.letters import catalogue, domain, events, schemas
from services.letters.app import letter_types
from services.letters.app.letters import actor_of, letter_view, load_letter
from services.letters.models import Letter, LetterTransition, Resident

OFFICE_STEPS = ("check", "reject", "cancel")  # signing has its own module: it numbers


def record_step(session: Session, outbox: Outbox, letter: Letter, from_status: str | None,
                actor: dict, reason: str | None = None, now: datetime | None = None,
                attachments: list | None = None) -> dict:
    """The transition row, the audit log's line (a letter about a person) and the event of the
    letter's new status, in the caller's transaction. `attachments`: the letter's, when the
    caller knows them (a letter requested in this transaction has none); else they are read,
    unless the letter was loaded for a step (`load_letter(..., step=True)`) and has none."""
    if attachments is None and letter.has_attachments is False:
        attachments = []  # read before the flush below, which expires it
    now = now or clock.now()
    letter.updated_at = now
    session.flush()
    transition = sa.insert(LetterTransition).values(
        letter_id=letter.id, from_status=from_status, to_status=letter.status,
        actor=actor_of(actor), reason=reason, at=now)
    audited = audit.record_statement([(letter.subject_nik, letter.village_code)],
                                     actor=actor or {}, action=audit.CHANGE,
                                     purpose=f"letter.{letter.status}")
    # The transition, the audit row and the event: one statement, one round trip.
    return events.emit_letter(session, outbox, letter_view(session, letter, attachments),
                              with_statements=[transition, audited])


def request_letter(session: Session, outbox: Outbox, data: dict, scope: str | None,
                   actor: dict) -> dict:
    """A resident asks for a letter about themself, or an officer on behalf of a resident."""
    request = load(schemas.LetterRequestSchema(), data, "invalid input")
    letter_type = catalogue.get_type(request["type_code"])
    role = (actor or {}).get("role")
    subject_nik = request["subject_nik"] or (actor.get("nik") if role == roles.RESIDENT else None)
    if not subject_nik:
        raise ValidationFailed("subject_nik is required",
                               fields={"subject_nik": ["Missing data for required field."]})
    domain.check_requester(role, actor.get("nik"), subject_nik, letter_type.resident_may_request)
    resident = session.get(Resident, subject_nik)
    if resident is None or not in_scope(scope, resident.village_code):
        raise NotFound("resident not found", fields={"subject_nik": ["unknown resident"]})
    setting = letter_types.setting(session, resident.village_code, letter_type.type_code)
    domain.check_request(letter_type.name, enabled=setting is None or setting.enabled,
                         purpose_required=letter_type.purpose_required,
                         purpose=request["purpose"])
    type_fields = letter_type.fields_schema()
    try:
        fields = type_fields.dump(type_fields.load(request["fields"]))
    except ValidationError as err:
        raise ValidationFailed("invalid letter fields", fields={"fields": err.messages}) from err
    domain.check_subject_may_receive(resident.status, letter_type.subject_must_be_dead)
    domain.check_printable_subject({**(resident.data or {}), "name": resident.name})
    now = clock.now()
    letter = Letter(
        id=uuid.uuid4(), village_code=resident.village_code, type_code=letter_type.type_code,
        classification_code=letter_types.classification_code(setting, letter_type),
        status=domain.SUBMITTED, subject_nik=resident.nik, subject_name=resident.name,
        purpose=request["purpose"], fields=to_json_safe(fields), requested_by=actor_of(actor),
        requested_at=now, updated_at=now)
    session.add(letter)
    session.flush()
    return record_step(session, outbox, letter, None, actor, now=now, attachments=[])


def change_status(session: Session, outbox: Outbox, letter_id: str, step: str,
                  scope: str | None, actor: dict, reason: str | None = None) -> dict:
    """check, reject or cancel."""
    if step not in OFFICE_STEPS:
        raise ValueError(step)
    letter = load_letter(session, letter_id, scope, actor, step=True)
    previous = letter.status
    letter.status = domain.decide_step(step, letter.status, actor.get("role"), reason)
    if reason is not None:
        letter.reason = reason.strip()
    return record_step(session, outbox, letter, previous, actor, reason)
