"""Letters application services: load, decide (domain.py), save rows and outbox events.

Functions take a SQLAlchemy Session and an Outbox and never commit: the caller (service.py, the
CLI, tests) commits, so the rows and their event land in one transaction.
"""
from __future__ import annotations

import contextlib
import hashlib
import uuid
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from marshmallow import Schema, ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.common.config import get_settings
from services.common.errors import Conflict, NotFound, Unprocessable, ValidationFailed
from services.common.events import to_json_safe
from services.common.objectstore import ObjectStoreClient, document_key
from services.common.outbox import Outbox
from services.common.pagination import fetch_page
from services.letters import catalogue, domain, events, schemas, tokens
from services.letters.models import (
    Attachment,
    Letter,
    LetterTransition,
    LetterTypeSetting,
    NumberCounter,
    Resident,
    TemplateVersion,
    Village,
)
from services.letters.pdf import render_letter

SYSTEM_ACTOR = {"role": "system", "village_code": None, "username": "letters", "nik": None}

VILLAGE_DEFAULTS = {
    "kind": "desa", "head_title": "Kepala Desa", "letter_number_scope": "per_type",
    "letter_number_format": domain.DEFAULT_NUMBER_FORMAT, "paper_size": "A4",
    "regency_name": "Kabupaten Serang", "office_address": "", "head_name": None,
}


def _now() -> datetime:
    return datetime.now(UTC)


def _load(schema: Schema, data: dict | None) -> dict:
    try:
        return schema.load(data or {})
    except ValidationError as err:
        raise ValidationFailed("invalid input", fields=err.messages) from err


def _actor(actor: dict | None) -> dict:
    actor = actor or {}
    return {key: actor.get(key) for key in ("role", "village_code", "username", "nik")}


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- read models (from registry events) ------------------------------------------------------

def apply_village(session: Session, village: dict) -> None:
    """Keep the newest state of a village; an older or repeated event changes nothing."""
    _upsert_newest(session, Village, {"code": village["code"]}, {"data": village},
                   _parse_time(village.get("updated_at")))


def apply_resident(session: Session, resident: dict) -> None:
    if "nik" not in resident and isinstance(resident.get("resident"), dict):
        resident = resident["resident"]  # a life-event shaped payload: {event, resident}
    previous = resident.get("previous_nik")
    if previous and previous != resident["nik"]:
        # Dukcapil issued the NIK for someone known by a temporary village number: same person.
        if session.get(Resident, resident["nik"]) is None:
            session.execute(sa.update(Resident).where(Resident.nik == previous)
                            .values(nik=resident["nik"]))
        else:
            session.execute(sa.delete(Resident).where(Resident.nik == previous))
    _upsert_newest(session, Resident, {"nik": resident["nik"]}, {
        "village_code": resident["village_code"], "name": resident["name"],
        "status": resident.get("status") or "alive", "data": resident,
    }, _parse_time(resident.get("updated_at")))


def _upsert_newest(session: Session, model, key: dict, values: dict,
                   updated_at: datetime | None) -> None:
    table = model.__table__
    stmt = insert(table).values(**key, **values, source_updated_at=updated_at,
                                received_at=sa.func.now())
    newer = sa.or_(table.c.source_updated_at.is_(None),
                   stmt.excluded.source_updated_at.is_(None),
                   stmt.excluded.source_updated_at >= table.c.source_updated_at)
    session.execute(stmt.on_conflict_do_update(
        index_elements=list(key), where=newer,
        set_={**{name: stmt.excluded[name] for name in values},
              "source_updated_at": stmt.excluded.source_updated_at,
              "received_at": sa.func.now()}))


def village_info(session: Session, code: str) -> dict:
    village = session.get(Village, code)
    if village is None:
        raise Unprocessable(f"village {code} is not known to the letters service yet",
                            fields={"village_code": ["no village.updated event received"]})
    info = {**VILLAGE_DEFAULTS, **{k: v for k, v in village.data.items() if v is not None}}
    info["kind_title"] = "Kelurahan" if info.get("kind") == "kelurahan" else "Desa"
    return info


# -- letter types and templates --------------------------------------------------------------

def _setting(session: Session, village_code: str, type_code: str) -> LetterTypeSetting | None:
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


def _classification_code(setting: LetterTypeSetting | None,
                         letter_type: catalogue.LetterType) -> str:
    """The village's own code for the type if it set one, else the catalogue's."""
    return (setting and setting.classification_code) or letter_type.classification_code


def letter_type_dict(session: Session, village_code: str,
                     letter_type: catalogue.LetterType) -> dict:
    setting = _setting(session, village_code, letter_type.type_code)
    template = _latest_template(session, village_code, letter_type.type_code)
    return {
        "type_code": letter_type.type_code,
        "name": letter_type.name,
        "classification_code": _classification_code(setting, letter_type),
        "enabled": setting.enabled if setting else True,
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
    }


def list_letter_types(session: Session, village_code: str,
                      scope: str | None = None) -> list[dict]:
    if scope is not None and scope != village_code:
        raise NotFound("village not found")
    return [letter_type_dict(session, village_code, t) for t in catalogue.TYPES.values()]


def configure_letter_type(session: Session, outbox: Outbox, village_code: str, type_code: str,
                          changes: dict, actor: dict) -> dict:
    """Switch a type on or off, change its code, or save new wording as a new version."""
    letter_type = catalogue.get_type(type_code)
    data = _load(schemas.LetterTypeChangesSchema(), changes)
    setting = _setting(session, village_code, type_code)
    if setting is None:
        setting = LetterTypeSetting(village_code=village_code, type_code=type_code, enabled=True)
        session.add(setting)
    if "enabled" in data:
        setting.enabled = data["enabled"]
    if "classification_code" in data:
        setting.classification_code = data["classification_code"]
    setting.updated_at = _now()
    if "title" in data or "body" in data:
        current = current_template(session, village_code, type_code)
        title = data.get("title", current.title)
        body = data.get("body", current.body)
        domain.check_template(body, letter_type.placeholders)
        domain.check_template(title, set())
        session.add(TemplateVersion(
            id=uuid.uuid4(), village_code=village_code, type_code=type_code,
            version=current.version + 1, title=title, body=body, created_by=_actor(actor)))
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:
        raise Conflict("the template was changed at the same time; try again") from exc
    result = letter_type_dict(session, village_code, letter_type)
    outbox.record(session, events.LETTER_TYPE_CONFIGURED, village_code=village_code,
                  aggregate_id=f"{village_code}:{type_code}", payload=result)
    return result


# -- letters: reading ------------------------------------------------------------------------

def _letter_id(letter_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(letter_id))
    except ValueError:
        raise NotFound("letter not found") from None


def _may_see(letter: Letter, scope: str | None, actor: dict | None) -> bool:
    if scope is not None and letter.village_code != scope:
        return False
    actor = actor or {}
    if actor.get("role") == "resident":
        return actor.get("nik") in (letter.subject_nik, letter.requested_by.get("nik"))
    return True


def load_letter(session: Session, letter_id: str, scope: str | None, actor: dict | None,
                for_update: bool = False) -> Letter:
    """The letter if the caller may see it; NotFound otherwise (no hint that it exists)."""
    stmt = sa.select(Letter).where(Letter.id == _letter_id(letter_id))
    if for_update:
        stmt = stmt.with_for_update()
    letter = session.scalars(stmt).first()
    if letter is None or not _may_see(letter, scope, actor):
        raise NotFound("letter not found")
    return letter


def verification_url(token: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}/api/v1/verify/{token}"


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


def _attachments_of(session: Session, letter_ids: list[uuid.UUID]) -> dict[uuid.UUID, list]:
    """The attachments of several letters in one query, oldest first per letter."""
    by_letter: dict[uuid.UUID, list] = {letter_id: [] for letter_id in letter_ids}
    for attachment in session.scalars(sa.select(Attachment)
                                      .where(Attachment.letter_id.in_(letter_ids))
                                      .order_by(Attachment.uploaded_at)):
        by_letter[attachment.letter_id].append(attachment)
    return by_letter


def letter_dict(session: Session, letter: Letter, attachments: list | None = None) -> dict:
    """The letter as the API shows it; a page passes its letters' attachments in."""
    letter_type = catalogue.TYPES.get(letter.type_code)
    if attachments is None:
        attachments = _attachments_of(session, [letter.id])[letter.id]
    kinds = {a.kind for a in attachments}
    required = letter_type.required_documents if letter_type else ()
    return {
        "id": str(letter.id),
        "village_code": letter.village_code,
        "type_code": letter.type_code,
        "type_name": letter_type.name if letter_type else letter.type_code,
        "classification_code": letter.classification_code,
        "status": letter.status,
        "subject_nik": letter.subject_nik,
        "subject_name": letter.subject_name,
        "purpose": letter.purpose,
        "fields": letter.fields,
        "number": letter.number,
        "requested_by": letter.requested_by,
        "requested_at": _iso(letter.requested_at),
        "signed_by": letter.signed_by,
        "signed_at": _iso(letter.signed_at),
        "issued_at": _iso(letter.issued_at),
        "valid_until": _iso(letter.valid_until),
        "reason": letter.reason,
        "template_version_id": str(letter.template_version_id)
        if letter.template_version_id else None,
        "pdf": {"size": letter.pdf_size, "sha256": letter.pdf_sha256} if letter.pdf_key else None,
        "verification_url": verification_url(letter.verification_token)
        if letter.verification_token else None,
        "attachments": [{
            "id": str(a.id), "kind": a.kind, "filename": a.filename,
            "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
            "uploaded_at": _iso(a.uploaded_at)} for a in attachments],
        "missing_documents": [doc for doc in required if doc not in kinds],
        "updated_at": _iso(letter.updated_at),
    }


def get_letter(session: Session, letter_id: str, scope: str | None, actor: dict) -> dict:
    return letter_dict(session, load_letter(session, letter_id, scope, actor))


def transitions_of(session: Session, letter_id: str, scope: str | None, actor: dict) -> list[dict]:
    letter = load_letter(session, letter_id, scope, actor)
    rows = session.scalars(sa.select(LetterTransition)
                           .where(LetterTransition.letter_id == letter.id)
                           .order_by(LetterTransition.id)).all()
    return [{"from": r.from_status, "to": r.to_status, "actor": r.actor, "reason": r.reason,
             "at": _iso(r.at)} for r in rows]


def _page(session: Session, stmt: sa.Select, page: int, per_page: int) -> dict:
    rows, total = fetch_page(session, stmt, page, per_page)
    attachments = _attachments_of(session, [row.id for row in rows])
    return {"items": [letter_dict(session, row, attachments[row.id]) for row in rows],
            "total": total, "page": page, "per_page": per_page}


def list_village_letters(session: Session, village_code: str, status: str | None, page: int,
                         per_page: int, scope: str | None) -> dict:
    """The office queue: oldest request first."""
    params = {"page": page, "per_page": per_page}
    if status:
        params["status"] = status
    query = _load(schemas.LetterListQuerySchema(), params)
    if scope is not None and scope != village_code:
        raise NotFound("village not found")
    stmt = sa.select(Letter).where(Letter.village_code == village_code)
    if query["status"]:
        stmt = stmt.where(Letter.status == query["status"])
    stmt = stmt.order_by(Letter.requested_at, Letter.id)
    return _page(session, stmt, query["page"], query["per_page"])


def list_resident_letters(session: Session, nik: str, scope: str | None, actor: dict,
                          page: int = 1, per_page: int = 20) -> dict:
    query = _load(schemas.LetterListQuerySchema(), {"page": page, "per_page": per_page})
    if (actor or {}).get("role") == "resident" and actor.get("nik") != nik:
        raise NotFound("resident not found")
    stmt = sa.select(Letter).where(Letter.subject_nik == nik)
    if scope is not None:
        stmt = stmt.where(Letter.village_code == scope)
    stmt = stmt.order_by(Letter.requested_at.desc(), Letter.id)
    return _page(session, stmt, query["page"], query["per_page"])


# -- letters: changing -----------------------------------------------------------------------

def _record(session: Session, outbox: Outbox, letter: Letter, from_status: str | None,
            actor: dict, reason: str | None = None, now: datetime | None = None) -> dict:
    """The transition row and the event of the letter's new status, in the caller's
    transaction."""
    now = now or _now()
    letter.updated_at = now
    session.add(LetterTransition(letter_id=letter.id, from_status=from_status,
                                 to_status=letter.status, actor=_actor(actor), reason=reason,
                                 at=now))
    session.flush()
    payload = letter_dict(session, letter)
    outbox.record(session, events.EVENT_FOR_STATUS[letter.status],
                  village_code=letter.village_code, aggregate_id=str(letter.id),
                  payload=payload)
    return payload


def request_letter(session: Session, outbox: Outbox, data: dict, scope: str | None,
                   actor: dict) -> dict:
    """A resident asks for a letter about themself, or an officer on behalf of a resident."""
    request = _load(schemas.LetterRequestSchema(), data)
    letter_type = catalogue.get_type(request["type_code"])
    role = (actor or {}).get("role")
    subject_nik = request["subject_nik"] or (actor.get("nik") if role == "resident" else None)
    if not subject_nik:
        raise ValidationFailed("subject_nik is required",
                               fields={"subject_nik": ["Missing data for required field."]})
    domain.check_requester(role, actor.get("nik"), subject_nik, letter_type.resident_may_request)
    resident = session.get(Resident, subject_nik)
    if resident is None or (scope is not None and resident.village_code != scope):
        raise NotFound("resident not found", fields={"subject_nik": ["unknown resident"]})
    setting = _setting(session, resident.village_code, letter_type.type_code)
    if setting is not None and not setting.enabled:
        raise Unprocessable(f"{letter_type.name} is not offered by this village",
                            fields={"type_code": ["switched off in this village"]})
    if letter_type.purpose_required and not request["purpose"]:
        raise ValidationFailed("purpose is required for this letter",
                               fields={"purpose": ["Missing data for required field."]})
    type_fields = letter_type.fields_schema()
    try:
        fields = type_fields.dump(type_fields.load(request["fields"]))
    except ValidationError as err:
        raise ValidationFailed("invalid letter fields", fields={"fields": err.messages}) from err
    domain.check_subject_may_receive(resident.status, letter_type.subject_must_be_dead)
    now = _now()
    letter = Letter(
        id=uuid.uuid4(), village_code=resident.village_code, type_code=letter_type.type_code,
        classification_code=_classification_code(setting, letter_type),
        status=domain.SUBMITTED, subject_nik=resident.nik, subject_name=resident.name,
        purpose=request["purpose"], fields=to_json_safe(fields), requested_by=_actor(actor),
        requested_at=now, updated_at=now)
    session.add(letter)
    session.flush()
    return _record(session, outbox, letter, None, actor, now=now)


def change_status(session: Session, outbox: Outbox, letter_id: str, step: str,
                  scope: str | None, actor: dict, reason: str | None = None) -> dict:
    """check, reject or cancel (signing has its own function: it assigns the number)."""
    if step not in ("check", "reject", "cancel"):
        raise ValueError(step)
    letter = load_letter(session, letter_id, scope, actor, for_update=True)
    previous = letter.status
    letter.status = domain.decide_step(step, letter.status, actor.get("role"), reason)
    if reason is not None:
        letter.reason = reason.strip()
    return _record(session, outbox, letter, previous, actor, reason)


def _next_seq(session: Session, village_code: str, year: int, scope_key: str) -> int:
    """Take the next number of a series. The upsert locks the counter row until the signing
    transaction ends, so concurrent signings queue here and a rolled-back one gives its number
    back."""
    stmt = insert(NumberCounter).values(village_code=village_code, year=year,
                                        scope_key=scope_key, last_seq=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["village_code", "year", "scope_key"],
        set_={"last_seq": NumberCounter.__table__.c.last_seq + 1},
    ).returning(NumberCounter.__table__.c.last_seq)
    return session.execute(stmt).scalar_one()


def sign_letter(session: Session, outbox: Outbox, letter_id: str, scope: str | None,
                actor: dict, now: datetime | None = None) -> dict:
    """The head signs: the letter gets its number in this transaction."""
    now = now or _now()
    letter = load_letter(session, letter_id, scope, actor, for_update=True)
    previous = letter.status
    new_status = domain.decide_step("sign", letter.status, actor.get("role"))
    village = village_info(session, letter.village_code)
    number_format = village["letter_number_format"]
    domain.check_number_format(number_format)
    signed_on = domain.local_date(now)
    scope_key = domain.counter_scope_key(village["letter_number_scope"], letter.type_code)
    seq = _next_seq(session, letter.village_code, signed_on.year, scope_key)
    letter.number = domain.format_number(
        number_format, code=letter.classification_code, seq=seq,
        short_code=village.get("short_code") or letter.village_code.rsplit(".", 1)[-1],
        when=signed_on, type_code=letter.type_code)
    letter.number_year, letter.number_scope, letter.number_seq = signed_on.year, scope_key, seq
    letter.status = new_status
    letter.signed_at = now
    letter.signed_by = {**_actor(actor), "name": village.get("head_name") or actor.get("username"),
                        "title": f"{village['head_title']} {village['name']}"}
    validity = catalogue.TYPES[letter.type_code].validity_days
    letter.valid_until = signed_on + timedelta(days=validity) if validity else None
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:
        raise Conflict("letter number already used; check the village number format") from exc
    return _record(session, outbox, letter, previous, actor, now=now)


# -- issuing: content, token, PDF ------------------------------------------------------------

def _title(value: str | None) -> str | None:
    """"belum_kawin" -> "Belum Kawin"; values already written properly ("PNS") stay."""
    return value.replace("_", " ").title() if value and value.islower() else value


def _field_text(name: str, value) -> str | None:
    if value is None:
        return None
    if name in catalogue.DISPLAY_VALUES:
        return catalogue.DISPLAY_VALUES[name].get(value, value)
    if name == "members":
        return "; ".join(f"{m['name']} (NIK {m['nik']})" for m in value) or "tidak ada"
    if name.endswith("_date"):
        return domain.date_id(date.fromisoformat(value))
    return str(value)


def letter_values(letter: Letter, resident: dict, village: dict, signer_name: str,
                  number: str, issue_date: date) -> dict:
    """Everything a template placeholder can print, already formatted for the letter."""
    birth = resident.get("birth_date")
    values = {
        "name": resident.get("name") or letter.subject_name,
        "nik": resident.get("nik") or letter.subject_nik,
        "birth_place": resident.get("birth_place"),
        "birth_date": domain.date_id(date.fromisoformat(birth)) if birth else None,
        "sex": domain.SEX_ID.get(resident.get("sex"), resident.get("sex")),
        "religion": _title(resident.get("religion")),
        "marital_status": _title(resident.get("marital_status")),
        "occupation": _title(resident.get("occupation")),
        "citizenship": resident.get("citizenship") or "WNI",
        "address": domain.address_line(resident.get("address"), village["name"]),
        "family_number": resident.get("family_number"),
        "father_name": resident.get("father_name"),
        "mother_name": resident.get("mother_name"),
        "village_name": village["name"],
        "district_name": village.get("district_name") or "",
        "regency_name": village.get("regency_name") or "Kabupaten Serang",
        "signer_title": village["head_title"],
        "signer_name": signer_name,
        "purpose": letter.purpose,
        "valid_until": domain.date_id(letter.valid_until) if letter.valid_until else None,
        "number": number,
        "issue_date": domain.date_id(issue_date),
    }
    for name, value in (letter.fields or {}).items():
        values[name] = _field_text(name, value)
    return values


def printed_content(session: Session, letter: Letter, template: TemplateVersion) -> dict:
    """Everything printed on the letter except the QR code: the input of the PDF and of the
    content digest the verification token signs."""
    village = village_info(session, letter.village_code)
    resident_row = session.get(Resident, letter.subject_nik)
    resident = resident_row.data if resident_row else {}
    issue_date = domain.local_date(letter.signed_at)
    signer = letter.signed_by or {}
    values = letter_values(letter, resident, village, signer.get("name") or "", letter.number,
                           issue_date)
    blocks = domain.body_blocks(domain.fill_template(template.body, values))
    return {
        "letter_id": str(letter.id),
        "type_code": letter.type_code,
        "title": domain.fill_template(template.title, values),
        "number": letter.number,
        "holder": {"nik": letter.subject_nik, "name": values["name"]},
        "issue_date": issue_date.isoformat(),
        "valid_until": _iso(letter.valid_until),
        "paper_size": village.get("paper_size") if village.get("paper_size") in ("A4", "F4")
        else "A4",
        "village": {key: village.get(key) for key in (
            "code", "name", "kind_title", "district_name", "regency_name", "office_address",
            "phone", "email")},
        "blocks": [{"kind": b.kind, "text": b.text, "rows": [list(r) for r in b.rows]}
                   for b in blocks],
        "place_date": domain.place_and_date(village["name"], issue_date),
        "signer": {"name": signer.get("name") or "", "title": signer.get("title") or ""},
    }


def issue_letter(session: Session, outbox: Outbox, store: ObjectStoreClient,
                 signing_key: Ed25519PrivateKey, letter_id: str,
                 now: datetime | None = None) -> dict | None:
    """Render and store the PDF of a signed letter. Returns None when there is nothing to do
    (already issued, or being issued by another worker)."""
    letter = session.scalars(sa.select(Letter).where(Letter.id == _letter_id(letter_id))
                             .with_for_update(skip_locked=True)).first()
    if letter is None or letter.status != domain.SIGNED:
        return None
    template = current_template(session, letter.village_code, letter.type_code)
    content = printed_content(session, letter, template)
    digest = tokens.content_digest(content)
    token = tokens.make_token(signing_key, str(letter.id), letter.number, digest)
    data = render_letter(content, verification_url(token))
    stored = store.put_bytes(document_key(letter.village_code, "letters", "pdf"), data,
                             "application/pdf")
    now = now or _now()
    letter.template_version_id = template.id
    letter.content, letter.content_sha256 = content, digest
    letter.verification_token = token
    letter.pdf_key, letter.pdf_size, letter.pdf_sha256 = stored.key, stored.size, stored.sha256
    letter.issued_at = now
    letter.status = domain.decide_step("issue", letter.status, "system")
    return _record(session, outbox, letter, domain.SIGNED, SYSTEM_ACTOR, now=now)


def signed_not_issued(session: Session, older_than: timedelta, limit: int = 20) -> list[str]:
    """Letters whose PDF step failed after signing (object store down): retried by a timer."""
    cutoff = _now() - older_than
    return [str(i) for i in session.scalars(
        sa.select(Letter.id).where(Letter.status == domain.SIGNED, Letter.signed_at < cutoff)
        .order_by(Letter.signed_at).limit(limit)).all()]


def open_pdf(session: Session, outbox: Outbox, letter_id: str, scope: str | None,
             actor: dict) -> dict:
    """Where the PDF is, for the gateway to stream; the first download is recorded."""
    letter = load_letter(session, letter_id, scope, actor, for_update=True)
    if letter.status not in (domain.ISSUED, domain.DOWNLOADED) or not letter.pdf_key:
        raise Conflict(f"the letter has no PDF yet (status {letter.status})",
                       fields={"status": [letter.status]})
    if letter.status == domain.ISSUED:
        letter.status = domain.decide_step("download", letter.status, actor.get("role"))
        _record(session, outbox, letter, domain.ISSUED, actor)
    safe_number = (letter.number or str(letter.id)).replace("/", "-")
    return {"key": letter.pdf_key, "size": letter.pdf_size, "sha256": letter.pdf_sha256,
            "content_type": "application/pdf",
            "filename": f"{letter.type_code}-{safe_number}.pdf"}


# -- attachments -----------------------------------------------------------------------------

def attachment_key(session: Session, letter_id: str, scope: str | None, actor: dict) -> dict:
    """Authorise an upload and say where the gateway must put it."""
    letter = load_letter(session, letter_id, scope, actor)
    if letter.status not in domain.OPEN_STATUSES:
        raise Conflict(f"attachments can only be added before signing (status {letter.status})")
    return {"key": document_key(letter.village_code, "letters", "attachments"),
            "max_bytes": domain.MAX_ATTACHMENT_BYTES}


def record_attachment(session: Session, outbox: Outbox, store: ObjectStoreClient,
                      letter_id: str, attachment: dict, scope: str | None, actor: dict) -> dict:
    """Check an uploaded object (type sniffed from its bytes, size) and attach it to the letter.
    A refused object is removed again, so bad input leaves nothing behind."""
    form = _load(schemas.AttachmentFormSchema(), {"kind": attachment.get("kind") or "other"})
    letter = load_letter(session, letter_id, scope, actor, for_update=True)
    key = str(attachment.get("key") or "")
    if not key.startswith(f"{letter.village_code}/letters/attachments/") or ".." in key:
        raise ValidationFailed("invalid attachment key", fields={"key": ["not this letter's"]})
    try:
        if letter.status not in domain.OPEN_STATUSES:
            raise Conflict(f"attachments can only be added before signing "
                           f"(status {letter.status})")
        try:
            data = store.get_bytes(key)
        except Exception as exc:  # noqa: BLE001 - a missing object is the caller's mistake
            raise ValidationFailed("the uploaded file was not found",
                                   fields={"key": ["no such object"]}) from exc
        content_type = domain.sniff_attachment(data[:8192], len(data))
    except Exception:
        _remove_quietly(store, key)
        raise
    filename = str(attachment.get("filename") or "")[:200] or None
    session.add(Attachment(
        id=uuid.uuid4(), letter_id=letter.id, village_code=letter.village_code,
        kind=form["kind"], filename=filename, key=key, size=len(data), content_type=content_type,
        sha256=hashlib.sha256(data).hexdigest(), uploaded_by=_actor(actor), uploaded_at=_now()))
    letter.updated_at = _now()
    session.flush()
    payload = letter_dict(session, letter)
    outbox.record(session, events.LETTER_ATTACHMENT_ADDED, village_code=letter.village_code,
                  aggregate_id=str(letter.id), payload=payload)
    return payload


def _remove_quietly(store: ObjectStoreClient, key: str) -> None:
    # Nothing to remove, or storage down: both harmless here.
    with contextlib.suppress(Exception):
        store.remove(key)


# -- verification ----------------------------------------------------------------------------

INVALID = {"valid": False}


def _verification(letter: Letter) -> dict:
    letter_type = catalogue.TYPES.get(letter.type_code)
    content = letter.content or {}
    today = domain.local_date(_now())
    return {
        "valid": True,
        "type": letter.type_code,
        "type_name": letter_type.name if letter_type else letter.type_code,
        "number": letter.number,
        "village": letter.village_code,
        "village_name": (content.get("village") or {}).get("name"),
        "issued_at": _iso(letter.issued_at),
        "valid_until": _iso(letter.valid_until),
        "expired": bool(letter.valid_until and letter.valid_until < today),
        "holder_name": domain.mask_name(content.get("holder", {}).get("name")
                                        or letter.subject_name),
        "nik": domain.mask_nik(letter.subject_nik),
    }


def verify_token(session: Session, public_key, token: str) -> dict:
    """Public check of a QR token: genuine letters answer with masked holder data only."""
    parsed = tokens.parse_token(token)
    if parsed is None:
        return INVALID
    letter = session.get(Letter, uuid.UUID(parsed.letter_id))
    if (letter is None or letter.status not in (domain.ISSUED, domain.DOWNLOADED)
            or not letter.content or not letter.number):
        return INVALID
    # Recompute the digest from the stored content, so edited rows fail as well.
    digest = tokens.content_digest(letter.content)
    if digest != letter.content_sha256 or not tokens.signature_valid(
            public_key, parsed, letter.number, digest):
        return INVALID
    return _verification(letter)


def verify_pdf(session: Session, sha256: str) -> dict:
    """Is this exact file a letter we issued? (the uploaded PDF's SHA-256)."""
    if not isinstance(sha256, str) or len(sha256) != 64:
        return INVALID
    letter = session.scalars(sa.select(Letter).where(Letter.pdf_sha256 == sha256.lower())).first()
    if letter is None or letter.status not in (domain.ISSUED, domain.DOWNLOADED):
        return INVALID
    return _verification(letter)


# -- office views ----------------------------------------------------------------------------

def _local_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    start = datetime.combine(date_from, time.min, tzinfo=domain.JAKARTA)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=domain.JAKARTA)
    return start, end


def letter_register(session: Session, village_code: str, date_from: str, date_to: str,
                    scope: str | None) -> list[dict]:
    """Buku Agenda surat keluar: every numbered letter of the period, in number order."""
    query = _load(schemas.RegisterQuerySchema(), {"from": date_from, "to": date_to})
    if scope is not None and scope != village_code:
        raise NotFound("village not found")
    start, end = _local_bounds(query["date_from"], query["date_to"])
    rows = session.scalars(
        sa.select(Letter).where(Letter.village_code == village_code,
                                Letter.number.is_not(None),
                                Letter.signed_at >= start, Letter.signed_at < end)
        .order_by(Letter.signed_at, Letter.number_seq)).all()
    register = []
    for index, letter in enumerate(rows, start=1):
        letter_type = catalogue.TYPES.get(letter.type_code)
        subject = letter_type.name if letter_type else letter.type_code
        if letter.purpose:
            subject = f"{subject}: {letter.purpose}"
        register.append({
            "no": index, "number": letter.number,
            "date": domain.local_date(letter.signed_at).isoformat(),
            "classification_code": letter.classification_code,
            "addressee": letter.subject_name, "subject": subject, "status": letter.status,
        })
    return register


def letter_counts(session: Session, year: int, scope: str | None,
                  village_code: str | None = None) -> list[dict]:
    """Letters requested and issued per village and month (regency dashboard)."""
    if scope is not None:
        if village_code not in (None, scope):
            raise NotFound("village not found")
        village_code = scope
    start, end = _local_bounds(date(year, 1, 1), date(year, 12, 31))
    counts: dict[tuple[str, str], dict] = {}
    for column, label in ((Letter.requested_at, "requested"), (Letter.issued_at, "issued")):
        month = sa.func.to_char(sa.func.timezone("Asia/Jakarta", column), "YYYY-MM")
        stmt = (sa.select(Letter.village_code, month.label("month"), sa.func.count())
                .where(column >= start, column < end).group_by(Letter.village_code, month))
        if village_code:
            stmt = stmt.where(Letter.village_code == village_code)
        for code, month_value, count in session.execute(stmt):
            entry = counts.setdefault((code, month_value), {
                "village_code": code, "month": month_value, "requested": 0, "issued": 0})
            entry[label] = count
    return [counts[key] for key in sorted(counts)]
