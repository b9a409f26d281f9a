"""Idempotent event consumers (ARCHITECTURE rules 2 and 3).

`consumes(source, event_type)` wraps a handler so that it runs at most once per `event_id`
(recorded in the `inbox` table in the same transaction as its effect), retries with backoff when
it fails, and parks the event in `dead_letters` when it keeps failing, for an operator to list and
replay (`desa dead-letters`). If even parking fails (the consumer's database is down), the event
goes back on its queue through the broker, to be tried again. nameko acks a message even when the
handler raises, so nothing is lost silently: it is applied once, parked, or queued again.

The kernel's event handler (services/common/entrypoints.py) hands the messages waiting on a
queue to one worker as a batch (decision 0097). A batch is applied in one transaction: one
inbox INSERT of all its event ids (those already there are skipped: a redelivery changes
nothing), the handler for each new event in delivery order, the read-model upserts written
together (services/common/readmodel.py), one commit; its messages are acknowledged after it.
If anything in it fails, the whole transaction is rolled back and its events are applied one by
one, each in its own transaction, with the retries above; an event that fails holds back only
the later events of its own aggregate, and is parked alone.
"""
from __future__ import annotations

import functools
import logging
import time

import kombu
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from services.common.config import get_settings
from services.common.entrypoints import EventBatch, event_handler
from services.common.readmodel import deferred_upserts, flush_upserts
from services.common.tables import dead_letters, inbox
from services.common.topology import Subscription

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.2, 1.0, 3.0)

# Built once: executed with parameters, compiled once (no statement built per event).
INBOX_ONE = insert(inbox).values(
    event_id=sa.bindparam("event_id"), handler=sa.bindparam("handler"),
    event_type=sa.bindparam("event_type")).on_conflict_do_nothing()
INBOX_MANY = sa.text(
    "INSERT INTO inbox (event_id, handler, event_type)"
    " SELECT e, :handler, t FROM unnest(CAST(:event_ids AS uuid[]),"
    " CAST(:event_types AS varchar[])) AS u(e, t)"
    " ON CONFLICT DO NOTHING RETURNING event_id::text")


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


def _aggregate(envelope: dict):
    return envelope.get("aggregate_id") or envelope.get("event_id")


class _Consumer:
    """One handler's way through a batch of envelopes (see the module's docstring)."""

    def __init__(self, service, fn, handler: str, queue: str, delays: tuple[float, ...]):
        self.service, self.fn, self.handler, self.queue, self.delays = (
            service, fn, handler, queue, delays)
        self.session = service.db

    def apply(self, envelopes: list[dict]) -> None:
        if len(envelopes) > 1:
            try:
                self._apply_together(envelopes)
                return
            except Exception as exc:  # noqa: BLE001 - then one by one, which finds the culprit
                self.session.rollback()
                log.warning("event batch failed; applying its events one by one", extra={
                    "handler": self.handler, "events": len(envelopes), "error": repr(exc)})
        self._apply_one_by_one(envelopes)

    def _apply_together(self, envelopes: list[dict]) -> None:
        session = self.session
        with deferred_upserts(session):
            fresh = set(session.execute(INBOX_MANY, {
                "handler": self.handler,
                "event_ids": [envelope["event_id"] for envelope in envelopes],
                "event_types": [envelope["type"] for envelope in envelopes]}).scalars())
            outcome = []
            for envelope in envelopes:
                new = envelope["event_id"] in fresh
                fresh.discard(envelope["event_id"])  # the same event twice in one batch: once
                if new:
                    self.fn(self.service, envelope)
                outcome.append((envelope, new))
            flush_upserts(session)
            session.commit()
        for envelope, new in outcome:
            self._log_applied(envelope, new)

    def _apply_alone(self, envelope: dict) -> None:
        session = self.session
        try:
            fresh = session.execute(INBOX_ONE, {
                "event_id": envelope["event_id"], "handler": self.handler,
                "event_type": envelope["type"]}).rowcount
            if fresh:
                self.fn(self.service, envelope)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        self._log_applied(envelope, fresh)

    def _log_applied(self, envelope: dict, fresh) -> None:
        # One line per event taken off a queue: which process of a scaled-out service applied
        # it, or that it was a redelivery and changed nothing.
        log.info("event applied" if fresh else "event already applied", extra={
            "handler": self.handler, "event_id": envelope.get("event_id")})

    def _apply_one_by_one(self, envelopes: list[dict]) -> None:
        """Each event in its own transaction, in order, retried in rounds: an event that failed
        in a round holds back the later events of its aggregate (not tried in that round), the
        others go on. What still fails after the last round is parked."""
        pending, errors = list(envelopes), {}
        for attempt, delay in enumerate((0.0, *self.delays), start=1):
            if delay:
                time.sleep(delay)
            failed, held, tried = [], set(), set()
            for envelope in pending:
                if _aggregate(envelope) in held:
                    failed.append(envelope)
                    continue
                tried.add(id(envelope))
                try:
                    self._apply_alone(envelope)
                except Exception as exc:  # noqa: BLE001 - every failure is retried, then parked
                    errors[id(envelope)] = exc
                    failed.append(envelope)
                    held.add(_aggregate(envelope))
                    log.warning("event handler failed", extra={
                        "handler": self.handler, "event_id": envelope.get("event_id"),
                        "attempt": attempt, "error": repr(exc)})
            pending = failed
            if not pending:
                return
        for envelope in pending:
            if id(envelope) not in tried:
                # Held back only behind an event of its aggregate parked just before it.
                try:
                    self._apply_alone(envelope)
                    continue
                except Exception as exc:  # noqa: BLE001
                    errors[id(envelope)] = exc
            self._park(envelope, errors[id(envelope)])

    def _park(self, envelope: dict, error: Exception) -> None:
        try:
            _park(self.session, envelope, self.queue, self.handler, error, len(self.delays) + 1)
        except Exception as park_error:  # noqa: BLE001 - the database itself is failing
            self.session.rollback()
            log.error("cannot park event; returning it to its queue", extra={
                "handler": self.handler, "event_id": envelope.get("event_id"),
                "error": repr(park_error)})
            publish_to_queue(self.queue, envelope)
            return
        log.error("event parked in dead_letters", extra={
            "handler": self.handler, "event_id": envelope.get("event_id")})


def consumes(source: str, event_type: str, retry_delays: tuple[float, ...] | None = None):
    """Decorate a service method `handler(self, envelope)`; the service must have `db`.

    The decorated method takes one envelope (a direct call) or an EventBatch of them (the
    kernel's event handler).
    """

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(self, envelopes):
            handler = f"{self.name}.{fn.__name__}"
            # Named as the declare step names it, so a re-queued event lands where it came from.
            queue = Subscription(source, event_type, self.name, fn.__name__).queue_name
            delays = RETRY_DELAYS if retry_delays is None else retry_delays
            batch = list(envelopes) if isinstance(envelopes, EventBatch) else [envelopes]
            _Consumer(self, fn, handler, queue, delays).apply(batch)

        return event_handler(source, event_type)(wrapper)

    return decorator
