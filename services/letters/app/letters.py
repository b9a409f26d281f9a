"""Letters as callers see them: loading one within scope, its view, its history, the lists."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session, with_expression

from services.common import audit, roles
from services.common.config import get_settings
from services.common.errors import NotFound
from services.common.fields import load
from services.common.pagination import fetch_page
from services.common.tenancy import check_scope, in_scope
from services.letters import catalogue, domain, schemas
from services.letters.models import Attachment, Letter, LetterTransition

SYSTEM_ACTOR = {"role": roles.SYSTEM, "village_code": None, "username": "letters", "nik": None}

_LETTER = schemas.LetterSchema()
_TRANSITIONS = schemas.TransitionSchema(many=True)


def actor_of(actor: dict | None) -> dict:
    """The actor as a letter records it (audit)."""
    actor = actor or {}
    return {key: actor.get(key) for key in ("role", "village_code", "username", "nik")}


# Why a letter was read, as the audit log says it (decision 0034).
READ_PURPOSE = "letter.read"
HISTORY_PURPOSE = "letter.history"
LIST_PURPOSE = "letter.list"
PDF_PURPOSE = "letter.pdf"
ATTACHMENT_PURPOSE = "letter.attachment"
REGISTER_PURPOSE = "letter.register"


def record_reads(session: Session, letters: list[Letter], actor: dict | None, purpose: str,
                 request_id: str | None = None) -> None:
    """Log that `actor` read these letters: the person each is about and whoever requested it
    (both NIKs are in the view), in the read's own transaction (decision 0034)."""
    audit.record_reads(session, [(nik, letter.village_code) for letter in letters
                                 for nik in (letter.subject_nik,
                                             (letter.requested_by or {}).get("nik"))],
                       actor, purpose, request_id)


def letter_uuid(letter_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(letter_id))
    except ValueError:
        raise NotFound("letter not found") from None


def _may_see(letter: Letter, scope: str | None, actor: dict | None) -> bool:
    if not in_scope(scope, letter.village_code):
        return False
    actor = actor or {}
    if actor.get("role") == roles.RESIDENT:
        return actor.get("nik") in (letter.subject_nik, letter.requested_by.get("nik"))
    return True


# Whether a letter has attachments, read with the letter: a workflow step's view of a letter
# without any (most letters) then needs no query of its own.
HAS_ATTACHMENTS = sa.exists().where(Attachment.letter_id == Letter.id)


def for_step(stmt: sa.Select) -> sa.Select:
    """`stmt` (a select of letters) as a workflow step loads a letter: locked, its attributes
    fresh from the row even if the session held it already, and `has_attachments` loaded."""
    return stmt.with_for_update().options(with_expression(Letter.has_attachments,
                                                          HAS_ATTACHMENTS)) \
        .execution_options(populate_existing=True)


def load_letter(session: Session, letter_id: str, scope: str | None, actor: dict | None,
                for_update: bool = False, step: bool = False) -> Letter:
    """The letter if the caller may see it; NotFound otherwise (no hint that it exists).
    `step`: locked as `for_step` loads it (a step that adds no attachment)."""
    stmt = sa.select(Letter).where(Letter.id == letter_uuid(letter_id))
    if step:
        stmt = for_step(stmt)
    elif for_update:
        stmt = stmt.with_for_update()
    letter = session.scalars(stmt).first()
    if letter is None or not _may_see(letter, scope, actor):
        raise NotFound("letter not found")
    return letter


def verification_url(token: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}/api/v1/verify/{token}"


def _attachments_of(session: Session, letter_ids: list[uuid.UUID]) -> dict[uuid.UUID, list]:
    """The attachments of several letters in one query, oldest first per letter."""
    by_letter: dict[uuid.UUID, list] = {letter_id: [] for letter_id in letter_ids}
    for attachment in session.scalars(sa.select(Attachment)
                                      .where(Attachment.letter_id.in_(letter_ids))
                                      .order_by(Attachment.uploaded_at)):
        by_letter[attachment.letter_id].append(attachment)
    return by_letter


def letter_view(session: Session, letter: Letter, attachments: list | None = None) -> dict:
    """The letter as the API shows it and its events carry; a page passes attachments in."""
    letter_type = catalogue.TYPES.get(letter.type_code)
    if attachments is None:
        attachments = _attachments_of(session, [letter.id])[letter.id]
    kinds = {a.kind for a in attachments}
    required = letter_type.required_documents if letter_type else ()
    return _LETTER.dump({
        **{name: getattr(letter, name) for name in (
            "id", "village_code", "type_code", "classification_code", "status", "subject_nik",
            "subject_name", "purpose", "fields", "number", "requested_by", "requested_at",
            "signed_by", "signed_at", "issued_at", "valid_until", "reason",
            "template_version_id", "updated_at")},
        "type_name": letter_type.name if letter_type else letter.type_code,
        "pdf": {"size": letter.pdf_size, "sha256": letter.pdf_sha256} if letter.pdf_key else None,
        "verification_url": verification_url(letter.verification_token)
        if letter.verification_token else None,
        "issuing": {"attempts": letter.issue_attempts or 0,
                    "next_attempt_at": letter.issue_retry_at,
                    "parked": letter.issue_parked_at is not None}
        if letter.status == domain.SIGNED else None,
        "attachments": attachments,
        "missing_documents": [doc for doc in required if doc not in kinds],
    })


def get_letter(session: Session, letter_id: str, scope: str | None, actor: dict,
               request_id: str | None = None) -> dict:
    letter = load_letter(session, letter_id, scope, actor)
    record_reads(session, [letter], actor, READ_PURPOSE, request_id)
    return letter_view(session, letter)


def transitions_of(session: Session, letter_id: str, scope: str | None, actor: dict,
                   request_id: str | None = None) -> list[dict]:
    letter = load_letter(session, letter_id, scope, actor)
    record_reads(session, [letter], actor, HISTORY_PURPOSE, request_id)
    return _TRANSITIONS.dump(session.scalars(
        sa.select(LetterTransition).where(LetterTransition.letter_id == letter.id)
        .order_by(LetterTransition.id)).all())


def _page(session: Session, stmt: sa.Select, page: int, per_page: int, actor: dict | None,
          request_id: str | None) -> dict:
    rows, total = fetch_page(session, stmt, page, per_page)
    record_reads(session, rows, actor, LIST_PURPOSE, request_id)
    attachments = _attachments_of(session, [row.id for row in rows])
    return {"items": [letter_view(session, row, attachments[row.id]) for row in rows],
            "total": total, "page": page, "per_page": per_page}


def list_village_letters(session: Session, village_code: str, status: str | None, page: int,
                         per_page: int, scope: str | None, actor: dict | None = None,
                         request_id: str | None = None) -> dict:
    """The office queue: oldest request first (each letter on the page is a logged read)."""
    params = {"page": page, "per_page": per_page}
    if status:
        params["status"] = status
    query = load(schemas.LetterListQuerySchema(), params, "invalid input")
    check_scope(scope, village_code)
    stmt = sa.select(Letter).where(Letter.village_code == village_code)
    if query["status"]:
        stmt = stmt.where(Letter.status == query["status"])
    stmt = stmt.order_by(Letter.requested_at, Letter.id)
    return _page(session, stmt, query["page"], query["per_page"], actor, request_id)


def list_resident_letters(session: Session, nik: str, scope: str | None, actor: dict,
                          page: int = 1, per_page: int = 20,
                          request_id: str | None = None) -> dict:
    query = load(schemas.LetterListQuerySchema(), {"page": page, "per_page": per_page},
                 "invalid input")
    if (actor or {}).get("role") == roles.RESIDENT and actor.get("nik") != nik:
        raise NotFound("resident not found")
    stmt = sa.select(Letter).where(Letter.subject_nik == nik)
    if scope is not None:
        stmt = stmt.where(Letter.village_code == scope)
    stmt = stmt.order_by(Letter.requested_at.desc(), Letter.id)
    return _page(session, stmt, query["page"], query["per_page"], actor, request_id)
