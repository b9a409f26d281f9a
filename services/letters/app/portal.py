"""What the web portal reads besides the API's views: an attachment to look at, and activity."""
from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.common.errors import NotFound
from services.letters.app.letters import load_letter
from services.letters.models import Attachment, Letter

RECENT_DAYS = 30


def open_attachment(session: Session, letter_id: str, attachment_id: str, scope: str | None,
                    actor: dict) -> dict:
    """Where the gateway may stream one attachment from, after the letter's own access check."""
    letter = load_letter(session, letter_id, scope, actor)
    try:
        wanted = uuid.UUID(str(attachment_id))
    except ValueError:
        raise NotFound("Attachment not found") from None
    found = session.scalar(sa.select(Attachment).where(Attachment.id == wanted,
                                                       Attachment.letter_id == letter.id))
    if found is None:
        raise NotFound("Attachment not found")
    return {"key": found.key, "size": found.size, "content_type": found.content_type,
            "filename": found.filename or f"lampiran-{found.id}"}


def recent_activity(session: Session, days: int = RECENT_DAYS) -> list[dict]:
    """Per village: letters requested in the last `days` days and the last request's time.

    The regency dashboard's "digital services active": a village that took a letter request
    online in the last 30 days serves digitally. One GROUP BY over all villages.
    """
    since = clock.now() - timedelta(days=days)
    recent = sa.func.count().filter(Letter.requested_at >= since)
    rows = session.execute(sa.select(Letter.village_code, recent, sa.func.max(Letter.requested_at),
                                     sa.func.count().filter(Letter.issued_at.is_not(None)))
                           .group_by(Letter.village_code))
    return [{"village_code": code, "requested_recently": count,
             "last_request_at": last.isoformat() if last else None, "issued_total": issued}
            for code, count, last, issued in rows]
