"""Event consumers apply each event once, and park events that keep failing for replay."""
from __future__ import annotations

import time
import uuid

import kombu
import pytest
import sqlalchemy as sa

from services.common import inbox
from services.common.config import get_settings
from services.common.db import Database
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
