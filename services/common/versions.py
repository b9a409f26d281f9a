"""Optimistic concurrency for records that two people edit at once (decision 0099).

A record's version is its `updated_at`, which every change stamps. The API answers a read or a
change with it as the ETag; a change sent back with it as `If-Match` is refused with 412 when
the record was saved since, instead of the last save silently undoing the first. The caller
holds the row's lock (`SELECT ... FOR UPDATE`), so two changes of one version cannot both
pass. No version sent: no check (clients that do not send `If-Match` keep working).
"""
from __future__ import annotations

from datetime import datetime

from services.common.errors import PreconditionFailed, ValidationFailed


def check_unchanged(current: datetime | None, if_match: str | None, what: str) -> None:
    """Refuse (412) a change made from version `if_match` of a record now at `current`."""
    if if_match is None:
        return
    try:
        seen = datetime.fromisoformat(if_match)
    except ValueError:
        raise ValidationFailed("If-Match must be the ETag of the entry as read",
                               fields={"if_match": ["Not a version of this entry."]}) from None
    if current is None or seen != current:
        raise PreconditionFailed(f"{what} was changed by someone else after you read it; "
                                 f"read it again and repeat your change")
