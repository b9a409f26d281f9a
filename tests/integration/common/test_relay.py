"""The outbox relay publishes each recorded event once confirmed, in order, through outages,
topology faults, poison rows and a lost lock."""
from __future__ import annotations

import contextlib
import logging
import threading
import time

import kombu
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.config import get_settings
from services.common.outbox import Outbox
from services.common.relay import Relay, lock_key
from services.common.topology import all_subscriptions, event_exchange, journal_queue
from tests.integration.common.conftest import KERNEL, outbox


def record(engine, n: int, aggregates=("a", "b", "c"), type_="thing.happened",
           service=KERNEL) -> list[str]:
    box = Outbox(service)
    ids = []
    with Session(engine) as session:
        for i in range(n):
            env = box.record(session, type_, village_code="36.04.05.2001",
                             aggregate_id=aggregates[i % len(aggregates)], payload={"seq": i})
            ids.append(env["event_id"])
        session.commit()
    return ids


def drain(queue, expected: int, timeout: float = 10.0) -> list[dict]:
    bodies, deadline = [], time.monotonic() + timeout
    while len(bodies) < expected and time.monotonic() < deadline:
        message = queue.get(no_ack=True)
        if message is None:
            time.sleep(0.02)
            continue
        bodies.append(message.decode())
    return bodies


@pytest.fixture
def broker(infra):
    """A channel on this run's vhost."""
    with kombu.Connection(get_settings().amqp_uri) as conn:
        yield conn.channel()


@pytest.fixture
def listener(broker):
    """A queue bound to every kernel `thing.*` event, drained by `received()`."""
    queue = kombu.Queue("test-kernel-all", exchange=event_exchange(KERNEL), routing_key="thing.#",
                        durable=False, auto_delete=False)(broker)
    queue.declare()
    queue.purge()
    yield lambda expected, timeout=10.0: drain(queue, expected, timeout)
    queue.delete()


def publish_all(relay: Relay) -> int:
    """Passes until nothing is due."""
    total = 0
    while published := relay.publish_pending():
        total += published
    return total


def unsent(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(outbox)
                           .where(outbox.c.sent_at.is_(None)))


def rows(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(outbox).order_by(outbox.c.id)).all()


def test_relay_publishes_in_commit_order_and_marks_sent(kernel_db, listener):
    ids = record(kernel_db, 30)
    relay = Relay(KERNEL, engine=kernel_db)
    assert publish_all(relay) == 30
    relay.close()
    bodies = listener(30)
    assert [b["event_id"] for b in bodies] == ids
    assert [b["payload"]["seq"] for b in bodies] == list(range(30))
    assert bodies[0]["source"] == KERNEL and bodies[0]["village_code"] == "36.04.05.2001"
    assert unsent(kernel_db) == 0
    assert listener(1, timeout=0.3) == []  # nothing published twice


def test_a_batch_is_confirmed_at_once_and_marked_sent_in_one_update(kernel_db, listener):
    ids = record(kernel_db, 40, aggregates=[f"resident-{i}" for i in range(40)])
    ids += record(kernel_db, 10)  # aggregates repeating: confirmed in segments, one UPDATE
    updates = []

    def count_updates(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE OUTBOX"):
            updates.append(statement)

    sa.event.listen(kernel_db, "before_cursor_execute", count_updates)
    try:
        relay = Relay(KERNEL, engine=kernel_db)
        assert relay.publish_pending() == 50
        relay.close()
    finally:
        sa.event.remove(kernel_db, "before_cursor_execute", count_updates)
    assert [b["event_id"] for b in listener(50)] == ids and unsent(kernel_db) == 0
    assert len(updates) == 1


def test_relay_declares_the_topology_so_the_first_event_reaches_its_consumer(kernel_db,
                                                                              fresh_vhost):
    # A first deploy where `desa declare` has not run: letters consumes registry's
    # resident.registered, but its queue exists only once someone declares it.
    [consumer] = [sub for sub in all_subscriptions() if sub.service == "letters"
                  and (sub.source, sub.event_type) == ("registry", "resident.registered")]
    record(kernel_db, 1, type_="resident.registered", service="registry")
    relay = Relay("registry", engine=kernel_db, amqp_uri=fresh_vhost)
    assert relay.publish_pending() == 1
    relay.close()
    with kombu.Connection(fresh_vhost) as conn:
        got = kombu.Queue(consumer.queue_name)(conn.channel()).get(no_ack=True)
    assert got is not None and got.decode()["type"] == "resident.registered"
    assert rows(kernel_db)[0].routed is True


def test_an_event_nobody_consumes_is_routed_to_the_bounded_journal(kernel_db, broker):
    journal = journal_queue(KERNEL)(broker)
    journal.declare()
    journal.purge()
    ids = record(kernel_db, 2, type_="other.happened")
    relay = Relay(KERNEL, engine=kernel_db)
    assert relay.publish_pending() == 2
    relay.close()
    assert [b["event_id"] for b in drain(journal, 2)] == ids
    assert [(row.routed, row.sent_at is not None) for row in rows(kernel_db)] == [(False, True)] * 2
    arguments = journal_queue(KERNEL).queue_arguments
    assert arguments["x-overflow"] == "drop-head" and arguments["x-max-length"] > 0


def test_an_unroutable_event_is_an_error_not_marked_sent_and_retried(kernel_db, broker, caplog):
    relay = Relay(KERNEL, engine=kernel_db, retry_base_seconds=0.05)
    record(kernel_db, 1, aggregates=("warmup",))
    assert relay.publish_pending() == 1  # connected; the topology is declared
    broker.queue_delete(journal_queue(KERNEL).name)  # a topology fault behind the relay's back
    record(kernel_db, 1, aggregates=("x",), type_="other.happened")
    with caplog.at_level(logging.ERROR, logger="services.common.relay"):
        assert relay.publish_pending() == 0
    row = rows(kernel_db)[-1]
    assert row.sent_at is None and row.attempts == 1 and row.last_error.startswith("unroutable")
    assert any(r.levelno == logging.ERROR and "not published" in r.getMessage()
               for r in caplog.records)
    assert relay.publish_pending() == 0  # waiting for its backoff
    time.sleep(0.1)
    assert relay.publish_pending() == 1  # reconnected, the journal declared again
    relay.close()
    row = rows(kernel_db)[-1]
    assert row.sent_at is not None and row.attempts == 2


def test_a_poison_row_is_set_aside_while_its_aggregate_waits_and_others_flow(
        kernel_db, listener, broker, caplog):
    # A queue that rejects everything makes the broker nack one event type (as a real broker
    # does for a full queue with reject-publish): a row the broker will never accept.
    rejecting = kombu.Queue("test-rejecting", exchange=event_exchange(KERNEL),
                            routing_key="other.poisoned", durable=False, auto_delete=False,
                            queue_arguments={"x-max-length": 0,
                                             "x-overflow": "reject-publish"})(broker)
    rejecting.declare()
    box = Outbox(KERNEL)
    with Session(kernel_db) as session:
        for aggregate, type_, seq in [("A", "thing.happened", 0), ("A", "other.poisoned", 1),
                                      ("A", "thing.happened", 2), ("B", "thing.happened", 3),
                                      ("C", "thing.happened", 4)]:
            box.record(session, type_, village_code=None, aggregate_id=aggregate,
                       payload={"seq": seq})
        session.commit()
    relay = Relay(KERNEL, engine=kernel_db, max_attempts=3, retry_base_seconds=0.02)
    with caplog.at_level(logging.ERROR, logger="services.common.relay"):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            relay.publish_pending()
            poison = rows(kernel_db)[1]
            if poison.attempts >= 3:
                break
            time.sleep(0.03)
        relay.publish_pending()  # set aside: holds back A, nothing else
    assert poison.sent_at is None and poison.attempts == 3
    assert "nack" in poison.last_error
    assert [b["payload"]["seq"] for b in listener(3)] == [0, 3, 4]
    assert listener(1, timeout=0.3) == []  # A's later event waits behind the poison row
    assert any("set aside" in r.getMessage() for r in caplog.records)

    rejecting.delete()  # the cause fixed; the operator retries (desa outbox retry)
    with kernel_db.begin() as conn:
        conn.execute(outbox.update().where(outbox.c.id == poison.id).values(attempts=0))
    assert publish_all(relay) == 2  # the poison row, then A's next event behind it
    relay.close()
    assert [b["payload"]["seq"] for b in listener(1)] == [2]  # the poisoned type has no listener
    assert unsent(kernel_db) == 0


def test_broker_down_keeps_rows_and_does_not_count_against_them(kernel_db, listener):
    record(kernel_db, 3)
    dead = Relay(KERNEL, engine=kernel_db, amqp_uri="amqp://guest:guest@127.0.0.1:1/")
    with pytest.raises(kombu.exceptions.OperationalError):
        dead.publish_pending()
    assert unsent(kernel_db) == 3
    assert [row.attempts for row in rows(kernel_db)] == [0, 0, 0]  # an outage sets nothing aside

    relay = Relay(KERNEL, engine=kernel_db)
    assert relay.publish_pending() == 3
    relay.close()
    assert [b["payload"]["seq"] for b in listener(3)] == [0, 1, 2]


def _lock_holder(engine) -> tuple[int, str] | None:
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT l.pid, a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objid::bigint = :key"),
            {"key": lock_key(KERNEL)}).first()
    return (row.pid, row.state) if row else None


def _wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_a_killed_lock_session_stops_the_relay_before_the_standby_takes_over(kernel_db,
                                                                              listener):
    stop = threading.Event()
    active = Relay(KERNEL, engine=kernel_db, standby_seconds=0.05)
    threads = [threading.Thread(target=active.run, args=(stop, 0.02), daemon=True)]
    threads[0].start()
    first_pid, state = _wait_for(lambda: _lock_holder(kernel_db))
    standby = Relay(KERNEL, engine=kernel_db, standby_seconds=0.05)
    threads.append(threading.Thread(target=standby.run, args=(stop, 0.02), daemon=True))
    threads[1].start()
    try:
        ids = record(kernel_db, 10)
        assert [b["event_id"] for b in listener(10)] == ids
        # Between passes the lock session is idle, not idle in a transaction that a timeout or
        # a pooler would end behind the relay's back.
        _, state = _lock_holder(kernel_db)
        assert state == "idle"

        with kernel_db.connect() as conn:
            assert conn.scalar(sa.select(sa.func.pg_terminate_backend(first_pid)))
        _wait_for(lambda: (_lock_holder(kernel_db) or (first_pid,))[0] != first_pid)
        ids = []
        for _ in range(5):
            ids += record(kernel_db, 20)
            time.sleep(0.03)
        bodies = listener(100, timeout=20)
        assert [b["event_id"] for b in bodies] == ids  # one publisher: no duplicates, in order
        assert listener(1, timeout=0.5) == []
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)


def test_two_relays_for_one_service_keep_order_without_duplicates(kernel_db, listener):
    stop = threading.Event()
    relays = [Relay(KERNEL, engine=kernel_db, standby_seconds=0.05) for _ in range(2)]
    threads = [threading.Thread(target=r.run, args=(stop, 0.02), daemon=True) for r in relays]
    for t in threads:
        t.start()
    ids = []
    for _ in range(5):
        ids += record(kernel_db, 20)
        time.sleep(0.05)
    bodies = listener(100, timeout=20)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert [b["event_id"] for b in bodies] == ids
    assert listener(1, timeout=0.3) == []


@contextlib.contextmanager
def _idle_relay(kernel_db, relay: Relay):
    """`relay` running with a 30 s poll, once it holds the lock, has found nothing to publish
    and sleeps on its channel: only a NOTIFY wakes it before the poll."""
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop, 30.0), daemon=True)
    thread.start()
    try:
        _wait_for(lambda: _lock_holder(kernel_db))
        time.sleep(0.3)
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def test_a_commit_wakes_the_relay_at_once_instead_of_at_its_next_poll(kernel_db, listener):
    """LISTEN/NOTIFY: with a 30 s poll, events still leave within a second of their commit."""
    with _idle_relay(kernel_db, Relay(KERNEL, engine=kernel_db)):
        for _ in range(3):
            started = time.monotonic()
            ids = record(kernel_db, 5)
            assert [b["event_id"] for b in listener(5, timeout=5)] == ids
            assert time.monotonic() - started < 1.0


def _counting_passes(relay: Relay) -> list[int]:
    """Count the relay's outbox queries (one per pass): a list whose length is the count."""
    calls: list[int] = []
    due_rows = relay._due_rows

    def counted(*args, **kwargs):
        found = due_rows(*args, **kwargs)
        calls.append(len(found))
        return found

    relay._due_rows = counted
    return calls


def test_a_commit_costs_one_pass_and_a_full_batch_is_followed_at_once(kernel_db, listener):
    """A pass that took less than a batch has published every row committed before it: the
    relay waits for the next NOTIFY instead of querying again at once. A full batch may have
    left rows behind: the next pass follows at once, not at the next poll or commit."""
    relay = Relay(KERNEL, engine=kernel_db, batch_size=3)
    passes = _counting_passes(relay)
    with _idle_relay(kernel_db, relay):
        for _ in range(3):
            before = len(passes)
            ids = record(kernel_db, 2)
            assert [b["event_id"] for b in listener(2, timeout=5)] == ids
            time.sleep(0.2)
            assert passes[before:] == [2]  # one pass for the commit, no empty pass after it
        before = len(passes)
        ids = record(kernel_db, 7)  # one NOTIFY, three batches
        assert [b["event_id"] for b in listener(7, timeout=5)] == ids
        time.sleep(0.2)
        assert passes[before:] == [3, 3, 1]
