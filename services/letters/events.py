"""Events the letters service emits: one emit function per aggregate (letter, letter type).

The payload is the whole aggregate as the service returns it (state-carrying).
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Insert
from sqlalchemy.orm import Session

from services.common.outbox import Outbox

LETTER_REQUESTED = "letter.requested"
LETTER_CHECKED = "letter.checked"
LETTER_SIGNED = "letter.signed"
LETTER_ISSUED = "letter.issued"
LETTER_DOWNLOADED = "letter.downloaded"
LETTER_REJECTED = "letter.rejected"
LETTER_CANCELLED = "letter.cancelled"
LETTER_ATTACHMENT_ADDED = "letter.attachment_added"
LETTER_TYPE_CONFIGURED = "letter_type.configured"

EVENT_FOR_STATUS = {
    "submitted": LETTER_REQUESTED,
    "checked": LETTER_CHECKED,
    "signed": LETTER_SIGNED,
    "issued": LETTER_ISSUED,
    "downloaded": LETTER_DOWNLOADED,
    "rejected": LETTER_REJECTED,
    "cancelled": LETTER_CANCELLED,
}


def emit_letter(session: Session, outbox: Outbox, state: dict, event_type: str | None = None,
                with_statements: Sequence[Insert] = ()) -> dict:
    """The letter's state as `letter.<its status>` (or `event_type`, e.g. an attachment);
    `with_statements` go with the outbox INSERT in one round trip (Outbox.record)."""
    outbox.record(session, event_type or EVENT_FOR_STATUS[state["status"]],
                  village_code=state["village_code"], aggregate_id=state["id"], payload=state,
                  with_statements=with_statements)
    return state


def emit_letter_type(session: Session, outbox: Outbox, village_code: str, state: dict) -> dict:
    outbox.record(session, LETTER_TYPE_CONFIGURED, village_code=village_code,
                  aggregate_id=f"{village_code}:{state['type_code']}", payload=state)
    return state
