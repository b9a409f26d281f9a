"""Outbox relay: publishes each service's unsent outbox rows to RabbitMQ, in order.

One relay per service is active at a time: it holds a PostgreSQL advisory lock on a session of
its own and checks, on every pass that has rows to publish, that the session still holds it
before publishing; a relay that lost its lock stops
publishing before a standby takes over (decision 0021). A pass takes a batch of rows,
publishes them with `mandatory=True` on a channel in confirm mode, waiting for confirms once per
segment (a run of rows with no aggregate twice) instead of once per row, and marks the confirmed
ones sent in one UPDATE. A crash between publish and mark re-publishes: consumers are idempotent.
Between passes the active relay LISTENs on its service's outbox channel (the lock session does):
a commit that recorded events wakes it at once, and the poll interval is only the fallback
(decision 0095). A pass that took fewer rows than a batch has published every row committed
before it, so the relay waits for the next NOTIFY instead of querying again at once.

A row the broker returns (unroutable: a topology fault, since every exchange has a journal queue
bound to `#`) or rejects is not marked sent: it is retried with backoff, and after
`MAX_ATTEMPTS` it is set aside together with every later row of the same aggregate, so order per
aggregate holds while every other aggregate keeps flowing. Each failure is logged at ERROR and
counted by `desa outbox status`; `desa outbox retry` puts set-aside rows back.
"""
from __future__ import annotations

import contextlib
import logging
import select
import threading
import time
import zlib
from collections.abc import Iterator, Sequence

import amqp
import kombu
import sqlalchemy as sa
from amqp.exceptions import ChannelError
from sqlalchemy.engine import Connection, Engine

from services.common.config import get_settings
from services.common.db import make_engine
from services.common.outbox import notify_channel
from services.common.tables import outbox as _OUTBOX
from services.common.topology import consumed_types, declare_on, event_exchange

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
MAX_ATTEMPTS = 8  # with RETRY_BASE_SECONDS = 1: set aside about two minutes after the first try
RETRY_BASE_SECONDS = 1.0
RETRY_MAX_SECONDS = 300.0
CONFIRM_TIMEOUT_SECONDS = 30.0
STANDBY_POLL_SECONDS = 1.0

# Client-side TCP keepalive on the relay's sessions: a lock session whose server or network went
# away fails its next check within about 25 s instead of hanging on a dead socket.
_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
              "keepalives_count": 3}

_HOLDS_LOCK = sa.text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 1"
    " AND classid::bigint = :hi AND objid::bigint = :lo)")


# `routed`: whether a service in this checkout consumes the type (the journal gets every event,
# so the broker no longer tells the relay that). One statement, whatever the number of rows.
_MARK_SENT = sa.text(
    "UPDATE outbox SET sent_at = now(), routed = (type = ANY(CAST(:consumed AS varchar[]))),"
    " attempts = attempts + 1 WHERE id = ANY(CAST(:ids AS bigint[]))")


def lock_key(service: str) -> int:
    """The advisory lock key of `service`'s relay (crc32: fits PostgreSQL's bigint)."""
    return zlib.crc32(f"desa-relay:{service}".encode())


def _segments(rows: Sequence) -> Iterator[list]:
    """Consecutive runs of `rows` in which no aggregate appears twice.

    The relay waits for a segment's confirms before publishing the next: if the broker returns
    or rejects a row, no later row of its aggregate has gone out ahead of it.
    """
    segment: list = []
    seen: set[str] = set()
    for row in rows:
        if row.aggregate_id in seen:
            yield segment
            segment, seen = [], set()
        segment.append(row)
        seen.add(row.aggregate_id)
    if segment:
        yield segment


def retry_delay(attempts: int, base: float = RETRY_BASE_SECONDS) -> float:
    """Seconds before a row that failed `attempts` times is tried again (doubling, capped)."""
    return min(base * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)


class LockLost(Exception):
    """The relay's lock session no longer holds the advisory lock (or is gone)."""


class _ConfirmingPublisher:
    """One broker connection whose channel is in confirm mode: publishes a batch, then waits for
    every confirm once, instead of one round trip per message."""

    def __init__(self, amqp_uri: str, service: str):
        self.exchange = event_exchange(service)
        self.connection = kombu.Connection(amqp_uri, heartbeat=0)
        self.connection.ensure_connection(max_retries=3)
        channel = self.channel = self.connection.channel()
        # The relay declares the whole topology itself before its first publish, so an event is
        # never published before its consumers' queues exist, whatever ran (or not) at deploy.
        declare_on(channel, [service])
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        self._next_tag = 0
        self._pending: dict[int, int] = {}  # delivery tag -> outbox id
        self._by_event: dict[str, int] = {}  # event id -> outbox id
        self._failed: dict[int, str] = {}

    def _settle(self, tag: int, multiple: bool, error: str | None) -> None:
        for settled in [t for t in self._pending if t == tag or (multiple and t < tag)]:
            row_id = self._pending.pop(settled)
            if error:
                self._failed.setdefault(row_id, error)

    def _on_ack(self, tag: int, multiple: bool) -> None:
        self._settle(tag, multiple, None)

    def _on_nack(self, tag: int, multiple: bool) -> None:
        self._settle(tag, multiple, "rejected by the broker (nack)")

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        # The broker sends basic.return before the ack of that message.
        row_id = self._by_event.get(message.properties.get("message_id"))
        if row_id is not None:
            self._failed[row_id] = (f"unroutable: no queue bound to {exchange!r} for "
                                    f"{routing_key!r} (topology fault)")

    def publish(self, rows: Sequence) -> dict[int, str]:
        """Publish `rows` in order; wait for all confirms. Returns {outbox id: error} of the
        rows the broker returned or rejected (the others are confirmed)."""
        self._pending.clear()
        self._by_event.clear()
        self._failed = {}
        for row in rows:
            self._next_tag += 1
            self._pending[self._next_tag] = row.id
            event_id = str(row.event_id)
            self._by_event[event_id] = row.id
            # The envelope as the database stores it (JSON text): no decoding and encoding it
            # again per row, and py-amqp's basic_publish without kombu's producer around it
            # (decision 0098). The properties are those kombu set: consumers decode by them.
            self.channel.basic_publish(
                amqp.Message(row.body, content_type="application/json",
                             content_encoding="utf-8", delivery_mode=2, priority=0,
                             message_id=event_id, application_headers={}),
                exchange=self.exchange.name, routing_key=row.type, mandatory=True)
        deadline = time.monotonic() + CONFIRM_TIMEOUT_SECONDS
        while self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._pending)} publisher confirms not received")
            self.connection.drain_events(timeout=remaining)
        return self._failed

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection may fail again
            self.connection.release()


class Relay:
    def __init__(self, service: str, engine: Engine | None = None, amqp_uri: str | None = None,
                 *, batch_size: int = BATCH_SIZE, max_attempts: int = MAX_ATTEMPTS,
                 retry_base_seconds: float = RETRY_BASE_SECONDS,
                 standby_seconds: float = STANDBY_POLL_SECONDS):
        settings = get_settings()
        self.service = service
        self.engine = engine or make_engine(settings.database_url(service), pool_size=2,
                                            connect_args=_KEEPALIVE)
        self.amqp_uri = amqp_uri or settings.amqp_uri
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.standby_seconds = standby_seconds
        self._consumed = sorted(consumed_types(service))
        self._publisher: _ConfirmingPublisher | None = None
        self._retry_at: dict[int, tuple[float, str]] = {}  # outbox id -> (due, aggregate id)
        self._isolate = 0  # passes left that publish one row at a time (see publish_pending)
        # Whether the last pass may have left due rows behind (a full batch, or a failure
        # that stopped it early): the loop then runs the next pass at once instead of waiting
        # for a NOTIFY.
        self.more_due = False

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
        self._publisher = None

    # -- one pass ---------------------------------------------------------------------------
    def publish_pending(self, lock: Connection | None = None) -> int:
        """Publish up to one batch of due rows and mark the confirmed ones sent.

        With `lock` (the session holding the advisory lock), checks that it still holds the
        lock before it publishes any row, and marks rows sent through it: a killed lock session
        publishes nothing more. Returns how many rows were
        marked sent.
        """
        self.more_due = False
        limit = 1 if self._isolate else self.batch_size
        rows = self._due_rows(limit)
        if not rows:
            return 0
        if lock is not None:
            self.check_lock(lock)
        self.more_due = len(rows) >= limit
        if self._publisher is None:
            try:
                self._publisher = _ConfirmingPublisher(self.amqp_uri, self.service)
            except Exception:
                self.close()
                raise
        sent: list[int] = []
        failed: dict[int, str] = {}
        error: Exception | None = None
        for segment in _segments(rows):
            try:
                failed = self._publisher.publish(segment)
            except ChannelError as exc:
                # The broker closed the channel over one message (too large, for example). In a
                # segment we cannot tell which: publish the next rows one at a time to find it.
                self.close()
                if len(segment) > 1:
                    self._isolate, error = len(segment), exc
                else:
                    failed = {segment[0].id: repr(exc)}
            except Exception as exc:  # noqa: BLE001 - broker down, confirms lost: retried
                self.close()
                error = exc
            sent += [row.id for row in segment if row.id not in failed and error is None]
            if failed or error:
                self.more_due = True
                break
        if error is None:
            self._isolate = max(self._isolate - 1, 0)
        if sent:
            self._execute(lock, _MARK_SENT.bindparams(ids=sent, consumed=self._consumed))
        for row_id in sent:
            self._retry_at.pop(row_id, None)
        if failed:
            self._record_failures(lock, [row for row in rows if row.id in failed], failed)
        if error is not None:
            raise error
        return len(sent)

    def _due_rows(self, limit: int | None = None) -> list:
        now = time.monotonic()
        waiting = {aggregate for due, aggregate in self._retry_at.values() if due > now}
        set_aside = (sa.select(_OUTBOX.c.aggregate_id)
                     .where(_OUTBOX.c.sent_at.is_(None), _OUTBOX.c.attempts >= self.max_attempts))
        query = (sa.select(_OUTBOX.c.id, _OUTBOX.c.type, _OUTBOX.c.event_id,
                           _OUTBOX.c.aggregate_id,
                           sa.cast(_OUTBOX.c.envelope, sa.Text).label("body"))
                 .where(_OUTBOX.c.sent_at.is_(None), _OUTBOX.c.attempts < self.max_attempts,
                        _OUTBOX.c.aggregate_id.not_in(set_aside))
                 .order_by(_OUTBOX.c.id).limit(limit or self.batch_size))
        if waiting:  # a row waiting for its retry holds back the later rows of its aggregate
            query = query.where(_OUTBOX.c.aggregate_id.not_in(sorted(waiting)))
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    def _record_failures(self, lock: Connection | None, rows: list, failed: dict[int, str]) -> None:
        if any(error.startswith("unroutable") for error in failed.values()):
            self.close()  # reconnecting declares the topology again, which may heal the fault
        set_aside = []
        for row in rows:
            [(attempts,)] = self._execute(lock, _OUTBOX.update().where(_OUTBOX.c.id == row.id)
                                          .values(attempts=_OUTBOX.c.attempts + 1,
                                                  last_error=failed[row.id][:2000])
                                          .returning(_OUTBOX.c.attempts))
            if attempts >= self.max_attempts:
                self._retry_at.pop(row.id, None)
                set_aside.append(row)
            else:
                due = time.monotonic() + retry_delay(attempts, self.retry_base_seconds)
                self._retry_at[row.id] = (due, row.aggregate_id)
        first = rows[0]
        log.error("events not published; retrying with backoff", extra={
            "service": self.service, "count": len(rows),
            "event_types": sorted({row.type for row in rows}), "outbox_id": first.id,
            "error": failed[first.id]})
        for row in set_aside:
            log.error("outbox row set aside after %d attempts; later events of its aggregate wait "
                      "behind it (desa outbox status / desa outbox retry)", self.max_attempts,
                      extra={"service": self.service, "outbox_id": row.id,
                             "event_type": row.type, "event_id": str(row.event_id),
                             "error": failed[row.id]})

    def _execute(self, lock: Connection | None, statement) -> list:
        """Run `statement` on the lock session (without one: in its own transaction); returns
        the rows it returned. A failing lock session means the lock is gone."""
        if lock is None:
            with self.engine.begin() as conn:
                result = conn.execute(statement)
                return result.all() if result.returns_rows else []
        try:
            result = lock.execute(statement)
            return result.all() if result.returns_rows else []
        except sa.exc.DBAPIError as exc:
            raise LockLost(f"lock session failed: {exc.orig!r}") from exc

    # -- the lock ---------------------------------------------------------------------------
    def check_lock(self, lock: Connection) -> None:
        """Raise LockLost unless `lock`'s session still holds this relay's advisory lock."""
        key = lock_key(self.service)
        try:
            held = lock.scalar(_HOLDS_LOCK, {"hi": key >> 32, "lo": key & 0xFFFFFFFF})
        except sa.exc.DBAPIError as exc:
            raise LockLost(f"lock session failed: {exc.orig!r}") from exc
        if not held:
            raise LockLost("the lock session no longer holds the advisory lock")

    @contextlib.contextmanager
    def _lock_session(self) -> Iterator[Connection | None]:
        """A session holding the advisory lock, or None if another relay holds it.

        Autocommit: the session is idle between statements, never idle in a transaction, so
        idle-in-transaction timeouts and poolers do not end it behind the relay's back.
        """
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            if not conn.scalar(sa.select(sa.func.pg_try_advisory_lock(lock_key(self.service)))):
                yield None
                return
            try:
                yield conn
            finally:
                with contextlib.suppress(Exception):  # a dead session has released it already
                    conn.execute(sa.select(sa.func.pg_advisory_unlock(lock_key(self.service))))
        finally:
            with contextlib.suppress(Exception):
                conn.close()

    def _announce_set_aside(self, lock: Connection) -> None:
        count = lock.scalar(sa.select(sa.func.count()).select_from(_OUTBOX).where(
            _OUTBOX.c.sent_at.is_(None), _OUTBOX.c.attempts >= self.max_attempts))
        if count:
            log.error("%d outbox row(s) set aside, holding back their aggregates (desa outbox "
                      "status)", count, extra={"service": self.service})

    # -- loop -------------------------------------------------------------------------------
    @staticmethod
    def _wait_for_events(lock: Connection, stop: threading.Event, poll: float) -> None:
        """Until a NOTIFY of a commit that recorded events reaches the lock session, or `poll`
        seconds pass. Notifications that arrived during the last pass's statements wake it at
        once, so a commit between the pass's query and this wait is never slept through."""
        dbapi = lock.connection.dbapi_connection
        if not hasattr(dbapi, "notifies"):  # not psycopg2: poll only
            stop.wait(poll)
            return
        until = time.monotonic() + poll
        try:
            while not dbapi.notifies and not stop.is_set():
                remaining = until - time.monotonic()
                if remaining <= 0:
                    break
                # In slices, so a stop is noticed within half a second whatever the poll.
                select.select([dbapi], [], [], min(remaining, 0.5))
                dbapi.poll()
            dbapi.notifies.clear()
        except Exception as exc:  # noqa: BLE001 - the lock session is gone
            raise LockLost(f"lock session failed: {exc!r}") from exc

    def run(self, stop: threading.Event, poll_seconds: float | None = None) -> None:
        poll = poll_seconds if poll_seconds is not None else get_settings().relay_poll_seconds
        backoff = poll
        while not stop.is_set():
            try:
                with self._lock_session() as lock:
                    if lock is None:
                        stop.wait(self.standby_seconds)  # another relay is active
                        continue
                    log.info("relay active", extra={"service": self.service})
                    lock.execute(sa.text(f'LISTEN "{notify_channel(self.service)}"'))
                    self._announce_set_aside(lock)
                    while not stop.is_set():
                        self.publish_pending(lock)
                        if not self.more_due:
                            # Every row committed before this pass's query went out; a later
                            # commit's NOTIFY wakes the wait at once.
                            self._wait_for_events(lock, stop, poll)
                        backoff = poll
            except LockLost as exc:
                log.error("relay lost its advisory lock; stopped publishing until it holds it "
                          "again", extra={"service": self.service, "error": str(exc)})
                self.close()
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
