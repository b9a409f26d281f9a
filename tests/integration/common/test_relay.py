"""The outbox relay publishes each recorded event once confirmed, in order, through outages."""
from __future__ import annotations

import threading
import time

import kombu
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.config import get_settings
from services.common.outbox import Outbox
from services.common.relay import Relay
from services.common.topology import event_exchange
from tests.integration.common.conftest import KERNEL, outbox


def record(engine, n: int, aggregates=("a", "b", "c"), type_="thing.happened") -> list[str]:
    box = Outbox(KERNEL)
    ids = []
    with Session(engine) as session:
        for i in range(n):
            env = box.record(session, type_, village_code="36.04.05.2001",
                             aggregate_id=aggregates[i % len(aggregates)], payload={"seq": i})
            ids.append(env["event_id"])
        session.commit()
    return ids


@pytest.fixture
def listener(infra):
    """A queue bound to every kernel event, drained by `received()`."""
    conn = kombu.Connection(get_settings().amqp_uri)
    channel = conn.channel()
    queue = kombu.Queue("test-kernel-all", exchange=event_exchange(KERNEL), routing_key="thing.#",
                        durable=False, auto_delete=False)(channel)
    queue.declare()
    queue.purge()

    def received(expected: int, timeout: float = 10.0) -> list[dict]:
        bodies, deadline = [], time.monotonic() + timeout
        while len(bodies) < expected and time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is None:
                time.sleep(0.02)
                continue
            bodies.append(message.decode())
        return bodies

    yield received
    queue.delete()
    conn.release()


def unsent(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(outbox)
                           .where(outbox.c.sent_at.is_(None)))


def test_relay_publishes_in_commit_order_and_marks_sent(kernel_db, listener):
    ids = record(kernel_db, 30)
    relay = Relay(KERNEL, engine=kernel_db)
    assert relay.publish_pending() == 30
    relay.close()
    bodies = listener(30)
    assert [b["event_id"] for b in bodies] == ids
    assert [b["payload"]["seq"] for b in bodies] == list(range(30))
    assert bodies[0]["source"] == KERNEL and bodies[0]["village_code"] == "36.04.05.2001"
    assert unsent(kernel_db) == 0
    assert listener(1, timeout=0.3) == []  # nothing published twice


def test_event_without_subscriber_is_marked_unrouted_not_lost(kernel_db, listener):
    record(kernel_db, 1, type_="other.happened")
    relay = Relay(KERNEL, engine=kernel_db)
    relay.publish_pending()
    relay.close()
    with kernel_db.connect() as conn:
        row = conn.execute(sa.select(outbox.c.routed, outbox.c.sent_at)).one()
    assert row.routed is False and row.sent_at is not None


def test_broker_down_keeps_rows_and_records_the_failure(kernel_db, listener):
    record(kernel_db, 3)
    dead = Relay(KERNEL, engine=kernel_db, amqp_uri="amqp://guest:guest@127.0.0.1:1/")
    with pytest.raises(kombu.exceptions.OperationalError):
        dead.publish_pending()
    assert unsent(kernel_db) == 3
    with kernel_db.connect() as conn:
        first = conn.execute(sa.select(outbox.c.attempts, outbox.c.last_error)
                             .order_by(outbox.c.id).limit(1)).one()
    assert first.attempts == 1 and first.last_error

    relay = Relay(KERNEL, engine=kernel_db)
    assert relay.publish_pending() == 3
    relay.close()
    assert [b["payload"]["seq"] for b in listener(3)] == [0, 1, 2]


def test_two_relays_for_one_service_keep_order_without_duplicates(kernel_db, listener):
    stop = threading.Event()
    relays = [Relay(KERNEL, engine=kernel_db) for _ in range(2)]
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
