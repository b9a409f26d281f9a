"""Event consumers apply each event once, and park events that keep failing for replay."""
from __future__ import annotations

import subprocess
import time
import uuid

import kombu
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import inbox
from services.common.config import get_settings
from services.common.db import Database
from services.common.entrypoints import EventBatch
from services.common.events import make_envelope
from services.common.inbox import consumes
from services.common.topology import Subscription, event_exchange, subscriptions_of
from tests.integration.common.conftest import KERNEL, dead_letters, things

OUTAGE = {"handler_failures": 0}


class ThingCounter:
    name = KERNEL
    db = Database(KERNEL)

    @consumes("source", "thing.happened")
    def on_thing(self, envelope):
        if envelope["payload"].get("poison"):
            raise ValueError("cannot handle this thing")
        if OUTAGE["handler_failures"] > 0:
            OUTAGE["handler_failures"] -= 1
            raise ConnectionError("database unavailable")
        self.db.execute(things.insert().values(event_id=envelope["event_id"],
                                               name=envelope["payload"]["name"]))


@pytest.fixture
def publish(infra):
    conn = kombu.Connection(get_settings().amqp_uri)
    producer = conn.Producer()

    def send(envelope: dict) -> None:
        producer.publish(envelope, exchange=event_exchange("source"),
                         routing_key=envelope["type"], serializer="json", declare=[
                             event_exchange("source")])

    yield send
    conn.release()


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table))


def test_subscriptions_follow_nameko_queue_names():
    assert subscriptions_of(ThingCounter) == [
        Subscription("source", "thing.happened", KERNEL, "on_thing")]
    assert subscriptions_of(ThingCounter)[0].queue_name == \
        "evt-source-thing.happened--kernel.on_thing"


def test_redelivered_event_changes_nothing(kernel_db, container_factory, nameko_config_kernel,
                                           publish):
    container = container_factory(ThingCounter, nameko_config_kernel)
    container.start()
    envelope = make_envelope(source="source", type="thing.happened", village_code=None,
                             aggregate_id="x", payload={"name": "sumur"})
    publish(envelope)
    publish(envelope)
    publish(make_envelope(source="source", type="thing.happened", village_code=None,
                          aggregate_id="y", payload={"name": "jembatan"}))
    wait_for(lambda: count(kernel_db, things) == 2)
    time.sleep(0.3)
    assert count(kernel_db, things) == 2


def test_failing_event_is_retried_then_parked_and_nothing_half_done(
        kernel_db, container_factory, nameko_config_kernel, publish, monkeypatch):
    monkeypatch.setattr("services.common.inbox.RETRY_DELAYS", (0.01, 0.01))
    container = container_factory(ThingCounter, nameko_config_kernel)
    container.start()
    envelope = make_envelope(source="source", type="thing.happened", village_code=None,
                             aggregate_id=str(uuid.uuid4()), payload={"name": "x", "poison": True})
    publish(envelope)
    wait_for(lambda: count(kernel_db, dead_letters) == 1)
    with kernel_db.connect() as conn:
        parked = conn.execute(sa.select(dead_letters)).one()
    assert parked.event_id == envelope["event_id"]
    assert parked.queue == "evt-source-thing.happened--kernel.on_thing"
    assert "cannot handle this thing" in parked.error
    assert parked.envelope == envelope
    assert count(kernel_db, things) == 0


def test_event_goes_back_to_its_queue_when_even_parking_fails(
        kernel_db, container_factory, nameko_config_kernel, publish, monkeypatch):
    """The database is down: the handler fails, parking fails, and the event must not be lost."""
    monkeypatch.setattr("services.common.inbox.RETRY_DELAYS", (0.01,))
    monkeypatch.setitem(OUTAGE, "handler_failures", 2)  # the first delivery and its retry
    real_park = inbox._park
    park_failures = []

    def park_while_down(*args, **kwargs):
        if not park_failures:
            park_failures.append(True)
            raise ConnectionError("database unavailable")
        return real_park(*args, **kwargs)

    monkeypatch.setattr("services.common.inbox._park", park_while_down)
    container = container_factory(ThingCounter, nameko_config_kernel)
    container.start()
    publish(make_envelope(source="source", type="thing.happened", village_code=None,
                          aggregate_id="z", payload={"name": "balai desa"}))
    wait_for(lambda: count(kernel_db, things) == 1)
    assert park_failures == [True]
    assert count(kernel_db, dead_letters) == 0


@pytest.fixture
def nameko_config_kernel(infra) -> dict:
    return get_settings().nameko_config()


# -- batches: the messages waiting on a queue applied in one transaction -----------------------

def thing(name: str, aggregate: str | None = None, **payload) -> dict:
    return make_envelope(source="source", type="thing.happened", village_code=None,
                         aggregate_id=aggregate or str(uuid.uuid4()),
                         payload={"name": name, **payload})


class Holder:
    """Just enough of a service instance to call its consumer directly (`name`, `db`)."""
    name = KERNEL

    def __init__(self, engine):
        self.db = Session(engine)


def applied_names(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(things.c.name).order_by(things.c.id)))


def test_a_burst_is_applied_in_batches_in_delivery_order_and_redelivered_changes_nothing(
        infra, kernel_db, container_factory, nameko_config_kernel, publish):
    container = container_factory(ThingCounter, nameko_config_kernel)
    container.start()
    burst = [thing(f"t{n:03d}", aggregate=f"a{n % 7}") for n in range(300)]
    for envelope in burst:
        publish(envelope)
    wait_for(lambda: count(kernel_db, things) == 300, timeout=60)
    # One process applies a queue's events in the order they were delivered.
    assert applied_names(kernel_db) == [envelope["payload"]["name"] for envelope in burst]
    with kernel_db.connect() as conn:
        transactions = conn.scalar(sa.select(
            sa.func.count(sa.distinct(inbox.inbox.c.processed_at))))
    assert transactions < 300 / 2, "events applied one transaction each, not in batches"

    for envelope in burst:  # the whole burst delivered again (a relay that published twice)
        publish(envelope)
    publish(marker := thing("marker"))
    wait_for(lambda: count(kernel_db, things) == 301, timeout=60)
    time.sleep(0.3)
    assert applied_names(kernel_db)[-1] == marker["payload"]["name"]
    assert count(kernel_db, things) == 301
    assert count(kernel_db, dead_letters) == 0
    # Every message acknowledged (a batch by one multiple ack of its last), none held.
    wait_for(lambda: queue_depth(infra, ThingCounter) == (0, 0), timeout=15)


def queue_depth(infra, service) -> tuple[int, int]:
    """(ready, unacknowledged) messages of the service's one event queue, from the broker."""
    [subscription] = subscriptions_of(service)
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", infra.vhost, "--no-table-headers", "name",
         "messages_ready", "messages_unacknowledged"],
        check=True, capture_output=True, text=True, timeout=60).stdout
    for line in listed.splitlines():
        name, ready, unacked = line.split()
        if name == subscription.queue_name:
            return int(ready), int(unacked)
    raise AssertionError(f"{subscription.queue_name} not declared")


def test_an_event_delivered_twice_in_one_batch_and_one_already_applied_are_skipped(kernel_db):
    holder = Holder(kernel_db)
    earlier, twice, new = thing("sumur"), thing("jembatan"), thing("balai")
    ThingCounter.on_thing(holder, earlier)
    ThingCounter.on_thing(holder, EventBatch([twice, earlier, twice, new]))
    assert applied_names(kernel_db) == ["sumur", "jembatan", "balai"]
    assert count(kernel_db, inbox.inbox) == 3


def test_a_poison_event_in_a_batch_is_parked_alone_and_the_others_applied(
        kernel_db, monkeypatch):
    monkeypatch.setattr("services.common.inbox.RETRY_DELAYS", (0.01, 0.01))
    holder = Holder(kernel_db)
    batch = EventBatch([thing("x1", "X"), poison := thing("x2", "X", poison=True),
                        thing("x3", "X"), thing("y1", "Y"), thing("z1", "Z")])
    ThingCounter.on_thing(holder, batch)
    # Y and Z go on at once; X's later event waits until the poison one is parked.
    assert applied_names(kernel_db) == ["x1", "y1", "z1", "x3"]
    with kernel_db.connect() as conn:
        parked = conn.execute(sa.select(dead_letters)).all()
    assert [row.event_id for row in parked] == [poison["event_id"]]
    assert "cannot handle this thing" in parked[0].error
    # The batch again (a redelivery): nothing applied twice.
    ThingCounter.on_thing(holder, batch)
    assert applied_names(kernel_db) == ["x1", "y1", "z1", "x3"]
    assert count(kernel_db, dead_letters) == 2  # the poison one, never applied, parked again


def test_a_batch_that_fails_as_a_whole_leaves_nothing_half_done(kernel_db, monkeypatch):
    """The database fails under the batch: the batch's transaction is rolled back whole, and
    the events retried one by one are each applied once."""
    monkeypatch.setattr("services.common.inbox.RETRY_DELAYS", (0.01,))
    monkeypatch.setitem(OUTAGE, "handler_failures", 1)  # the batch's second event, once
    holder = Holder(kernel_db)
    ThingCounter.on_thing(holder, EventBatch([thing("a"), thing("b"), thing("c")]))
    assert applied_names(kernel_db) == ["a", "b", "c"]
    assert count(kernel_db, inbox.inbox) == 3
    assert count(kernel_db, dead_letters) == 0
