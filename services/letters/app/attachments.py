"""Supporting documents of a request (KTP, KK, RT/RW cover letter), kept in object storage."""
from __future__ import annotations

import contextlib
import hashlib
import uuid

from minio.error import S3Error
from sqlalchemy.orm import Session

from services.common import clock
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.fields import load
from services.common.objectstore import ObjectStoreClient, document_key
from services.common.outbox import Outbox
from services.common.sniffing import sniff_document
from services.letters import domain, events, schemas
from services.letters.app.letters import (
    ATTACHMENT_PURPOSE,
    actor_of,
    letter_view,
    load_letter,
    record_reads,
)
from services.letters.models import Attachment


def sniff_attachment(head: bytes, size: int) -> str:
    """The content type of an attachment, read from its bytes (PDF, JPEG or PNG, up to 5 MB)."""
    return sniff_document(head, size, domain.ATTACHMENT_TYPES, domain.MAX_ATTACHMENT_BYTES)


def attachment_key(session: Session, letter_id: str, scope: str | None, actor: dict) -> dict:
    """Authorise an upload and say where the gateway must put it."""
    letter = load_letter(session, letter_id, scope, actor)
    if letter.status not in domain.OPEN_STATUSES:
        raise Conflict(f"attachments can only be added before signing (status {letter.status})")
    return {"key": document_key(letter.village_code, "letters", "attachments"),
            "max_bytes": domain.MAX_ATTACHMENT_BYTES}


def open_attachment(session: Session, letter_id: str, attachment_id: str, scope: str | None,
                    actor: dict, request_id: str | None = None) -> dict:
    """Where an attachment is, for the gateway to stream: whoever may see the letter may read
    the documents sent with it (the officer checking a request needs the KTP and KK)."""
    letter = load_letter(session, letter_id, scope, actor)
    try:
        wanted = uuid.UUID(str(attachment_id))
    except ValueError:
        raise NotFound("attachment not found") from None
    attachment = session.get(Attachment, wanted)
    if attachment is None or attachment.letter_id != letter.id:
        raise NotFound("attachment not found")
    record_reads(session, [letter], actor, ATTACHMENT_PURPOSE, request_id)
    extension = domain.ATTACHMENT_TYPES.get(attachment.content_type, "bin")
    filename = f"{attachment.kind}-{str(attachment.id)[:8]}.{extension}"
    return {"key": attachment.key, "size": attachment.size, "sha256": attachment.sha256,
            "content_type": attachment.content_type, "filename": filename}


def record_attachment(session: Session, outbox: Outbox, store: ObjectStoreClient,
                      letter_id: str, attachment: dict, scope: str | None, actor: dict) -> dict:
    """Check an uploaded object (type sniffed from its bytes, size) and attach it to the letter.
    A refused object is removed again, so bad input leaves nothing behind."""
    form = load(schemas.AttachmentFormSchema(), {"kind": attachment.get("kind") or "other"},
                "invalid input")
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
        except S3Error as exc:  # a missing object is the caller's mistake; storage down is not
            raise ValidationFailed("the uploaded file was not found",
                                   fields={"key": ["no such object"]}) from exc
        content_type = sniff_attachment(data, len(data))
    except Exception:
        _remove_quietly(store, key)
        raise
    filename = str(attachment.get("filename") or "")[:200] or None
    session.add(Attachment(
        id=uuid.uuid4(), letter_id=letter.id, village_code=letter.village_code,
        kind=form["kind"], filename=filename, key=key, size=len(data), content_type=content_type,
        sha256=hashlib.sha256(data).hexdigest(), uploaded_by=actor_of(actor),
        uploaded_at=clock.now()))
    letter.updated_at = clock.now()
    session.flush()
    return events.emit_letter(session, outbox, letter_view(session, letter),
                              events.LETTER_ATTACHMENT_ADDED)


def _remove_quietly(store: ObjectStoreClient, key: str) -> None:
    # Nothing to remove, or storage down: both harmless here.
    with contextlib.suppress(Exception):
        store.remove(key)
