"""Idempotent event consumers (ARCHITECTURE rules 2 and 3).

`consumes(source, event_type)` wraps a handler so that it runs at most once per `event_id`
(recorded in the `inbox` table in the same transaction as its effect), retries with backoff when
it fails, and parks the event in `dead_letters` when it keeps failing, for an operator to list and
replay (`desa dead-letters`). nameko acks a message even when the handler raises, so nothing is
lost silently: it is either applied once or parked.
"""
from __future__ import annotations

import functools
import logging
import time

import sqlalchemy as sa
from nameko.events import event_handler
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.2, 1.0, 3.0)


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "inbox", metadata,
        sa.Column("event_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("handler", sa.String(120), primary_key=True),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )


def dead_letters_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "dead_letters", metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False),
        sa.Column("queue", sa.String(200), nullable=False),
        sa.Column("handler", sa.String(120), nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )


_INBOX = inbox_table(sa.MetaData())
_DEAD = dead_letters_table(sa.MetaData())


def consumes(source: str, event_type: str, retry_delays: tuple[float, ...] = RETRY_DELAYS):
    """Decorate a service method `handler(self, envelope)`; the service must have `db`."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(self, envelope: dict):
            handler = f"{self.name}.{fn.__name__}"
            queue = f"evt-{source}-{event_type}--{self.name}.{fn.__name__}"
            error = None
            for attempt, delay in enumerate((0.0, *retry_delays), start=1):
                if delay:
                    time.sleep(delay)
                session = self.db
                try:
                    fresh = session.execute(
                        insert(_INBOX).values(event_id=envelope["event_id"], handler=handler,
                                              event_type=envelope["type"])
                        .on_conflict_do_nothing()).rowcount
                    if fresh:
                        fn(self, envelope)
                    session.commit()
                    return
                except Exception as exc:  # noqa: BLE001 - every failure is retried, then parked
                    session.rollback()
                    error = exc
                    log.warning("event handler failed", extra={
                        "handler": handler, "event_id": envelope.get("event_id"),
                        "attempt": attempt, "error": repr(exc)})
            session.execute(_DEAD.insert().values(
                event_id=envelope["event_id"], queue=queue, handler=handler, envelope=envelope,
                error=repr(error)[:4000], attempts=len(retry_delays) + 1))
            session.commit()
            log.error("event parked in dead_letters", extra={
                "handler": handler, "event_id": envelope.get("event_id")})

        return event_handler(source, event_type)(wrapper)

    return decorator
