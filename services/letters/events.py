"""Events the letters service emits (payload: the full letter, as `app.letter_dict` returns it)."""
from __future__ import annotations

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

# Registry events the resident and village read models follow.
RESIDENT_EVENTS = ("resident.registered", "resident.updated", "resident.died",
                   "resident.moved_out", "resident.moved_in")
VILLAGE_UPDATED = "village.updated"
