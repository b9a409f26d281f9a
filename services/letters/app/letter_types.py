"""Letter types per village: switched on or off, their classification code and wording."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from marshmallow import Schema
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.common import clock
from services.common.errors import Conflict
from services.common.fields import load
from services.common.outbox import Outbox
from services.common.tenancy import check_scope
from services.letters import catalogue, domain, events, schemas
from services.letters.app.letters import SYSTEM_ACTOR, actor_of
from services.letters.models import LetterTypeSetting, TemplateVersion

_LETTER_TYPE = schemas.LetterTypeSchema()


def setting(session: Session, village_code: str, type_code: str) -> LetterTypeSetting | None:
    return session.get(LetterTypeSetting, (village_code, type_code))


def _latest_template(session: Session, village_code: str,
                     type_code: str) -> TemplateVersion | None:
    return session.scalars(
        sa.select(TemplateVersion)
        .where(TemplateVersion.village_code == village_code,
               TemplateVersion.type_code == type_code)
        .order_by(TemplateVersion.version.desc()).limit(1)).first()


def current_template(session: Session, village_code: str, type_code: str) -> TemplateVersion:
    """The wording in force; the built-in default becomes version 1 the first time it is used,
    so every issued letter points at a stored version."""
    latest = _latest_template(session, village_code, type_code)
    if latest is not None:
        return latest
    letter_type = catalogue.get_type(type_code)
    session.execute(insert(TemplateVersion).values(
        id=uuid.uuid4(), village_code=village_code, type_code=type_code, version=1,
        title=letter_type.title, body=letter_type.body, created_by=SYSTEM_ACTOR,
    ).on_conflict_do_nothing())
    return _latest_template(session, village_code, type_code)


def _describe_fields(schema: Schema) -> dict:
    return {name: {"type": type(field).__name__, "required": field.required}
            for name, field in schema.fields.items()}


def classification_code(found: LetterTypeSetting | None,
                        letter_type: catalogue.LetterType) -> str:
    """The village's own code for the type if it set one, else the catalogue's."""
    return (found and found.classification_code) or letter_type.classification_code


def letter_type_view(session: Session, village_code: str,
                     letter_type: catalogue.LetterType) -> dict:
    found = setting(session, village_code, letter_type.type_code)
    template = _latest_template(session, village_code, letter_type.type_code)
    return _LETTER_TYPE.dump({
        "type_code": letter_type.type_code,
        "name": letter_type.name,
        "classification_code": classification_code(found, letter_type),
        "enabled": found.enabled if found else True,
        "resident_may_request": letter_type.resident_may_request,
        "purpose_required": letter_type.purpose_required,
        "required_documents": list(letter_type.required_documents),
        "validity_days": letter_type.validity_days,
        "fields": _describe_fields(letter_type.fields_schema()),
        "template": {
            "version": template.version if template else 1,
            "id": str(template.id) if template else None,
            "title": template.title if template else letter_type.title,
            "body": template.body if template else letter_type.body,
        },
        "placeholders": sorted(letter_type.placeholders),
    })


def list_letter_types(session: Session, village_code: str,
                      scope: str | None = None) -> list[dict]:
    check_scope(scope, village_code)
    return [letter_type_view(session, village_code, t) for t in catalogue.TYPES.values()]


def configure_letter_type(session: Session, outbox: Outbox, village_code: str, type_code: str,
                          changes: dict, scope: str | None, actor: dict) -> dict:
    """Switch a type on or off, change its code, or save new wording as a new version."""
    domain.check_configurer((actor or {}).get("role"))
    check_scope(scope, village_code)
    letter_type = catalogue.get_type(type_code)
    data = load(schemas.LetterTypeChangesSchema(), changes, "invalid input")
    found = setting(session, village_code, type_code)
    if found is None:
        found = LetterTypeSetting(village_code=village_code, type_code=type_code, enabled=True)
        session.add(found)
    if "enabled" in data:
        found.enabled = data["enabled"]
    if "classification_code" in data:
        found.classification_code = data["classification_code"]
    found.updated_at = clock.now()
    if "title" in data or "body" in data:
        current = current_template(session, village_code, type_code)
        title = data.get("title", current.title)
        body = data.get("body", current.body)
        domain.check_template(body, letter_type.placeholders)
        domain.check_template(title, set())
        session.add(TemplateVersion(
            id=uuid.uuid4(), village_code=village_code, type_code=type_code,
            version=current.version + 1, title=title, body=body, created_by=actor_of(actor)))
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:
        raise Conflict("the template was changed at the same time; try again") from exc
    return events.emit_letter_type(session, outbox, village_code,
                                   letter_type_view(session, village_code, letter_type))
