"""Read models kept from another service's events: keep the newest state, by `updated_at`.

Events carry the whole state of their aggregate, so a consumer just keeps the newest copy; an
older or repeated event (redelivery, a republish) changes nothing.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session


def upsert_newest(session: Session, model: type, key: dict, values: dict,
                  updated_at: datetime | None) -> None:
    """Insert the row, or update it unless the stored copy is newer than `updated_at`.

    The model needs `source_updated_at` and `received_at` columns besides `key` and `values`.
    """
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
