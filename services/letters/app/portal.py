"""What the web portal reads besides the API's views: activity per village."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.letters.models import Letter

RECENT_DAYS = 30


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
