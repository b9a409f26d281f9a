"""Issuing a signed letter: what it prints, its signed verification token, its PDF."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from services.common import clock, roles
from services.common.errors import Conflict, NotFound
from services.common.objectstore import ObjectStoreClient, document_key
from services.common.outbox import Outbox
from services.common.tenancy import in_scope
from services.letters import catalogue, domain, tokens
from services.letters.app.letter_types import current_template
from services.letters.app.letters import (
    PDF_PURPOSE,
    SYSTEM_ACTOR,
    for_step,
    letter_uuid,
    load_letter,
    record_reads,
    verification_url,
)
from services.letters.app.readmodels import village_info
from services.letters.app.requests import record_step
from services.letters.models import Letter, Resident, TemplateVersion
from services.letters.pdf import render_letter

log = logging.getLogger(__name__)


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
    issue_date = clock.local_date(letter.signed_at)
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
        "valid_until": letter.valid_until.isoformat() if letter.valid_until else None,
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
    letter = session.scalars(for_step(sa.select(Letter).where(Letter.id == letter_uuid(letter_id)))
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
    now = now or clock.now()
    letter.template_version_id = template.id
    letter.content, letter.content_sha256 = content, digest
    letter.verification_token = token
    letter.pdf_key, letter.pdf_size, letter.pdf_sha256 = stored.key, stored.size, stored.sha256
    letter.issued_at = now
    letter.issue_retry_at = letter.issue_parked_at = None
    letter.status = domain.decide_step("issue", letter.status, roles.SYSTEM)
    return record_step(session, outbox, letter, domain.SIGNED, SYSTEM_ACTOR, now=now)


def signed_not_issued(session: Session, older_than: timedelta, limit: int = 20,
                      now: datetime | None = None) -> list[str]:
    """Signed letters whose PDF step is due: failed before and due again by its backoff, or
    never tried (the process stopped between signing and issuing) and signed `older_than` ago.
    Parked letters wait for an operator."""
    now = now or clock.now()
    due = sa.func.coalesce(Letter.issue_retry_at, Letter.signed_at + older_than)
    return [str(i) for i in session.scalars(
        sa.select(Letter.id).where(Letter.status == domain.SIGNED,
                                   Letter.issue_parked_at.is_(None), due <= now)
        .order_by(due).limit(limit)).all()]


def record_issue_failure(session: Session, letter_id: str, error: str,
                         now: datetime | None = None) -> dict | None:
    """Count a failed PDF step: when to try again, or park the letter after the last attempt."""
    letter = session.scalars(sa.select(Letter).where(Letter.id == letter_uuid(letter_id))
                             .with_for_update()).first()
    if letter is None or letter.status != domain.SIGNED:
        return None
    now = now or clock.now()
    letter.issue_attempts = (letter.issue_attempts or 0) + 1
    letter.issue_error = error[:500]
    if domain.issue_parks(letter.issue_attempts):
        letter.issue_parked_at, letter.issue_retry_at = now, None
        log.error("a signed letter's PDF failed too often; parked for an operator "
                  "(desa letters parked)", extra={"letter_id": str(letter.id),
                                                  "attempts": letter.issue_attempts})
    else:
        letter.issue_retry_at = now + domain.issue_retry_delay(letter.issue_attempts)
    session.flush()
    return issue_state(letter)


def issue_state(letter: Letter) -> dict:
    """A signed letter's PDF step as operators see it: no personal data (operators never see
    resident data), enough to find the letter and the cause."""
    return {"id": str(letter.id), "village_code": letter.village_code,
            "type_code": letter.type_code, "number": letter.number, "status": letter.status,
            "signed_at": letter.signed_at.isoformat() if letter.signed_at else None,
            "attempts": letter.issue_attempts or 0, "last_error": letter.issue_error,
            "next_attempt_at": letter.issue_retry_at.isoformat()
            if letter.issue_retry_at else None,
            "parked_at": letter.issue_parked_at.isoformat() if letter.issue_parked_at else None}


def issue_state_of(session: Session, letter_id: str) -> dict:
    letter = session.get(Letter, letter_uuid(letter_id))
    if letter is None:
        raise NotFound("letter not found")
    return issue_state(letter)


def parked_letters(session: Session, scope: str | None, village_code: str | None = None,
                   limit: int = 500) -> list[dict]:
    """Signed letters parked after too many failed PDF attempts, oldest first."""
    stmt = sa.select(Letter).where(Letter.status == domain.SIGNED,
                                   Letter.issue_parked_at.is_not(None))
    for code in (scope, village_code):
        if code is not None:
            stmt = stmt.where(Letter.village_code == code)
    return [issue_state(letter) for letter in session.scalars(
        stmt.order_by(Letter.issue_parked_at, Letter.id).limit(limit))]


def unpark(session: Session, letter_id: str, scope: str | None,
           now: datetime | None = None) -> dict:
    """An operator's retry: the letter starts a fresh round of attempts, due now."""
    letter = session.scalars(sa.select(Letter).where(Letter.id == letter_uuid(letter_id))
                             .with_for_update()).first()
    if letter is None or not in_scope(scope, letter.village_code):
        raise NotFound("letter not found")
    if letter.status != domain.SIGNED:
        raise Conflict(f"only a signed letter waits for its PDF (status {letter.status})",
                       fields={"status": [letter.status]})
    letter.issue_attempts, letter.issue_parked_at = 0, None
    letter.issue_retry_at = now or clock.now()
    session.flush()
    return issue_state(letter)


def open_pdf(session: Session, outbox: Outbox, letter_id: str, scope: str | None,
             actor: dict, request_id: str | None = None) -> dict:
    """Where the PDF is, for the gateway to stream. Anyone who may see the letter may download
    it; the first download by the resident or the office is recorded as its collection."""
    letter = load_letter(session, letter_id, scope, actor, for_update=True)
    if letter.status not in (domain.ISSUED, domain.DOWNLOADED) or not letter.pdf_key:
        raise Conflict(f"the letter has no PDF yet (status {letter.status})",
                       fields={"status": [letter.status]})
    record_reads(session, [letter], actor, PDF_PURPOSE, request_id)
    if letter.status == domain.ISSUED and domain.download_collects(actor.get("role")):
        letter.status = domain.decide_step("download", letter.status, actor.get("role"))
        record_step(session, outbox, letter, domain.ISSUED, actor)
    safe_number = (letter.number or str(letter.id)).replace("/", "-")
    return {"key": letter.pdf_key, "size": letter.pdf_size, "sha256": letter.pdf_sha256,
            "content_type": "application/pdf",
            "filename": f"{letter.type_code}-{safe_number}.pdf"}
