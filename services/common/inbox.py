"""Idempotent event consumers (ARCHITECTURE rules 2 and 3).

`consumes(source, event_type)` wraps a handler so that it runs at most once per `event_id`
(recorded in the `inbox` table in the same transaction as its effect), retries with backoff when
it fails, and parks the event in `dead_letters` when it keeps failing, for an operator to list and
replay (`desa dead-letters`). If even parking fails (the consumer's database is down), the event
goes back on its queue through the broker, to be tried again. nameko acks a message even when the
handler raises, so nothing is lost silently: it is applied once, parked, or queued again.
"""
from __future__ import annotations

import functools
import logging
import time

import kombu
from sqlalchemy.dialects.postgresql import insert

from services.common.config import get_settings
from services.common.entrypoints import event_handler
from services.common.tables import dead_letters, inbox
from services.common.topology import Subscription

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.2, 1.0, 3.0)


class QueueMissing(Exception):
    """The broker could not route a message to the queue (it was never declared)."""


def publish_to_queue(queue: str, envelope: dict, amqp_uri: str | None = None) -> None:
    """Publish through the default exchange straight to `queue`, confirmed by the broker.

    Raises QueueMissing if the broker did not route it, so the caller keeps its copy.
    """
    returned: list[str] = []
    with kombu.Connection(amqp_uri or get_settings().amqp_uri,
                          transport_options={"confirm_publish": True}) as conn:
        producer = kombu.Producer(conn.channel(),
                                  on_return=lambda exc, exch, key, msg: returned.append(key))
        producer.publish(envelope, exchange="", routing_key=queue, serializer="json",
                         delivery_mode=2, mandatory=True, message_id=str(envelope["event_id"]),
                         retry=False)
    if returned:
        raise QueueMissing(queue)


def _park(session, envelope: dict, queue: str, handler: str, error: Exception,
          attempts: int) -> None:
    session.execute(dead_letters.insert().values(
        event_id=envelope["event_id"], queue=queue, handler=handler, envelope=envelope,
        error=repr(error)[:4000], attempts=attempts))
    session.commit()


def consumes(source: str, event_type: str, retry_delays: tuple[float, ...] | None = None):
    """Decorate a service method `handler(self, envelope)`; the service must have `db`."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(self, envelope: dict):
            handler = f"{self.name}.{fn.__name__}"
            # Named as the declare step names it, so a re-queued event lands where it came from.
            queue = Subscription(source, event_type, self.name, fn.__name__).queue_name
            error = None
            delays = RETRY_DELAYS if retry_delays is None else retry_delays
            for attempt, delay in enumerate((0.0, *delays), start=1):
                if delay:
                    time.sleep(delay)
                session = self.db
                try:
                    fresh = session.execute(
                        insert(inbox).values(event_id=envelope["event_id"], handler=handler,
                                              event_type=envelope["type"])
                        .on_conflict_do_nothing()).rowcount
                    if fresh:
                        fn(self, envelope)
                    session.commit()
                    # One line per event taken off a queue: which process of a scaled-out
                    # service applied it, or that it was a redelivery and changed nothing.
                    log.info("event applied" if fresh else "event already applied", extra={
                        "handler": handler, "event_id": envelope.get("event_id")})
                    return
                except Exception as exc:  # noqa: BLE001 - every failure is retried, then parked
                    session.rollback()
                    error = exc
                    log.warning("event handler failed", extra={
                        "handler": handler, "event_id": envelope.get("event_id"),
                        "attempt": attempt, "error": repr(exc)})
            try:
                _park(session, envelope, queue, handler, error, len(delays) + 1)
            except Exception as park_error:  # noqa: BLE001 - the database itself is failing
                session.rollback()
                log.error("cannot park event; returning it to its queue", extra={
                    "handler": handler, "event_id": envelope.get("event_id"),
                    "error": repr(park_error)})
                publish_to_queue(queue, envelope)
                return
            log.error("event parked in dead_letters", extra={
                "handler": handler, "event_id": envelope.get("event_id")})

        return event_handler(source, event_type)(wrapper)

    return decorator
