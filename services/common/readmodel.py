"""Read models kept from another service's events: keep the newest state, by `updated_at`.

Events carry the whole state of their aggregate, so a consumer just keeps the newest copy; an
older or repeated event (redelivery, a republish) changes nothing.

The upsert statement is built once per table and column set and executed with parameters, so
SQLAlchemy compiles it once (its compiled cache) instead of building and compiling it for every
event. While the event kernel applies a batch of events in one transaction
(`deferred_upserts`, services/common/inbox.py), upserts are held and written together, as one
executemany of the same statement, when the batch ends or just before any other statement the
handlers run on that session: a handler that reads (or changes) the read model sees every
earlier event of its batch, exactly as if each event had been written at once (decision 0097).
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

# session.info key: the upserts held while a batch is applied, {statement: {key: params}}.
PENDING = "desa.readmodel.pending"


@functools.cache
def upsert_statement(table: sa.Table, keys: tuple[str, ...],
                     values: tuple[str, ...]) -> sa.Insert:
    """INSERT of `keys` + `values` + source_updated_at, updating the stored row unless it is
    newer; bound parameters named after the columns, built once."""
    columns = (*keys, *values, "source_updated_at")
    stmt = insert(table).values({name: sa.bindparam(name, type_=table.c[name].type)
                                 for name in columns} | {"received_at": sa.func.now()})
    newer = sa.or_(table.c.source_updated_at.is_(None),
                   stmt.excluded.source_updated_at.is_(None),
                   stmt.excluded.source_updated_at >= table.c.source_updated_at)
    # RETURNING, though nothing reads it: SQLAlchemy sends an executemany of an INSERT with
    # ON CONFLICT as one multi-row INSERT ("insertmanyvalues") only when it returns rows;
    # without, psycopg2 runs it once per row, a round trip each.
    return stmt.on_conflict_do_update(
        index_elements=list(keys), where=newer,
        set_={**{name: stmt.excluded[name] for name in values},
              "source_updated_at": stmt.excluded.source_updated_at,
              "received_at": sa.func.now()}).returning(table.c[keys[0]])


def _replaces(new: datetime | None, held: datetime | None) -> bool:
    """What the statement's WHERE decides, for two copies of one row within a batch."""
    return new is None or held is None or new >= held


def upsert_newest(session: Session, model: type, key: dict, values: dict,
                  updated_at: datetime | None) -> None:
    """Insert the row, or update it unless the stored copy is newer than `updated_at`.

    The model needs `source_updated_at` and `received_at` columns besides `key` and `values`.
    """
    stmt = upsert_statement(model.__table__, tuple(key), tuple(values))
    params = {**key, **values, "source_updated_at": updated_at}
    pending = session.info.get(PENDING)
    if pending is None:
        session.execute(stmt, params)
        return
    # One row per key in a multi-row upsert (PostgreSQL refuses to update a row twice in one
    # statement): keep the copy the statement would have kept had they run one after another.
    rows = pending.setdefault(stmt, {})
    ident = tuple(key.values())
    held = rows.get(ident)
    if held is None or _replaces(updated_at, held["source_updated_at"]):
        rows[ident] = params


def flush_upserts(session: Session) -> None:
    """Write the upserts held for this session's batch (one executemany per statement)."""
    pending = session.info.get(PENDING)
    if not pending:
        return
    session.info[PENDING] = {}  # before executing: the statements below pass the hook again
    for stmt, rows in pending.items():
        session.execute(stmt, list(rows.values()))


@contextmanager
def deferred_upserts(session: Session) -> Iterator[None]:
    """Hold `upsert_newest` writes on `session` until `flush_upserts` or another statement;
    whatever is still held when the block ends is dropped (the caller rolls back then)."""
    session.info[PENDING] = {}
    try:
        yield
    finally:
        session.info.pop(PENDING, None)


@event.listens_for(Session, "do_orm_execute")
def _write_held_upserts_first(state) -> None:
    """Any statement a handler runs during a batch first writes the upserts held before it."""
    if state.session.info.get(PENDING):
        flush_upserts(state.session)
