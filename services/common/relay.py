"""Outbox relay: publishes each service's unsent outbox rows to RabbitMQ, in order.

One relay per service is active at a time (a PostgreSQL advisory lock), so events leave in the
order they were written and order per aggregate holds even when several relay processes run.
Publishing uses publisher confirms and `mandatory=True`; a row is marked sent only after the
broker confirmed it. A crash between publish and mark re-publishes: consumers are idempotent.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
import zlib

import kombu
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.config import get_settings
from services.common.db import make_engine
from services.common.tables import outbox as _OUTBOX
from services.common.topology import event_exchange

log = logging.getLogger(__name__)

BATCH_SIZE = 200


def _lock_key(service: str) -> int:
    return zlib.crc32(f"desa-relay:{service}".encode())


class Relay:
    def __init__(self, service: str, engine: Engine | None = None, amqp_uri: str | None = None):
        settings = get_settings()
        self.service = service
        self.engine = engine or make_engine(settings.database_url(service), pool_size=2)
        self.amqp_uri = amqp_uri or settings.amqp_uri
        self.exchange = event_exchange(service)
        self._connection: kombu.Connection | None = None
        self._producer: kombu.Producer | None = None
        self._returned: list = []

    # -- broker -----------------------------------------------------------------------------
    def _ensure_producer(self) -> kombu.Producer:
        if self._producer is None:
            self._connection = kombu.Connection(
                self.amqp_uri, transport_options={"confirm_publish": True}, heartbeat=0)
            self._connection.ensure_connection(max_retries=3)
            channel = self._connection.channel()
            self.exchange(channel).declare()
            self._producer = kombu.Producer(channel, on_return=self._on_return)
        return self._producer

    def _on_return(self, exception, exchange, routing_key, message) -> None:
        self._returned.append(routing_key)

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail again
                self._connection.release()
        self._connection = None
        self._producer = None

    # -- one pass ---------------------------------------------------------------------------
    def publish_pending(self) -> int:
        """Publish up to one batch of unsent rows. Returns how many were published."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(_OUTBOX.c.id, _OUTBOX.c.type, _OUTBOX.c.event_id, _OUTBOX.c.envelope)
                .where(_OUTBOX.c.sent_at.is_(None))
                .order_by(_OUTBOX.c.id).limit(BATCH_SIZE)).all()
        published = 0
        for row in rows:
            try:
                routed = self._publish(row.type, row.event_id, row.envelope)
            except Exception as exc:
                self.close()
                with self.engine.begin() as conn:
                    conn.execute(_OUTBOX.update().where(_OUTBOX.c.id == row.id).values(
                        attempts=_OUTBOX.c.attempts + 1, last_error=repr(exc)[:2000]))
                raise
            with self.engine.begin() as conn:
                conn.execute(_OUTBOX.update().where(_OUTBOX.c.id == row.id).values(
                    sent_at=sa.func.now(), routed=routed, attempts=_OUTBOX.c.attempts + 1))
            published += 1
        return published

    def _publish(self, event_type: str, event_id: str, envelope: dict) -> bool:
        producer = self._ensure_producer()
        self._returned.clear()
        producer.publish(
            envelope, exchange=self.exchange, routing_key=event_type, serializer="json",
            delivery_mode=2, mandatory=True, message_id=str(event_id), retry=False)
        routed = not self._returned
        if not routed:
            log.info("event has no subscriber yet", extra={"event_type": event_type,
                                                          "event_id": str(event_id)})
        return routed

    # -- loop -------------------------------------------------------------------------------
    def run(self, stop: threading.Event, poll_seconds: float | None = None) -> None:
        poll = poll_seconds if poll_seconds is not None else get_settings().relay_poll_seconds
        backoff = poll
        while not stop.is_set():
            try:
                with self.engine.connect() as lock_conn:
                    if not lock_conn.scalar(sa.select(sa.func.pg_try_advisory_lock(
                            _lock_key(self.service)))):
                        stop.wait(1.0)  # another relay is active for this service
                        continue
                    try:
                        while not stop.is_set():
                            if self.publish_pending() < BATCH_SIZE:
                                stop.wait(poll)
                            backoff = poll
                    finally:
                        lock_conn.execute(sa.select(sa.func.pg_advisory_unlock(
                            _lock_key(self.service))))
            except Exception:
                log.exception("relay error; retrying", extra={"service": self.service})
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
        self.close()


def run_relays(services: list[str], stop: threading.Event) -> list[threading.Thread]:
    threads = []
    for service in services:
        relay = Relay(service)
        thread = threading.Thread(target=relay.run, args=(stop,), name=f"relay-{service}",
                                  daemon=True)
        thread.start()
        threads.append(thread)
    return threads


def wait_until_sent(service: str, timeout: float = 10.0) -> None:
    """Block until the service's outbox is empty (tests and the seed step use it)."""
    engine = make_engine(get_settings().database_url(service), poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if not conn.scalar(sa.select(sa.func.count()).select_from(_OUTBOX)
                                   .where(_OUTBOX.c.sent_at.is_(None))):
                    return
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise TimeoutError(f"{service} outbox not drained within {timeout}s")
