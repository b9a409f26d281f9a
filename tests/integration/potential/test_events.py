"""Registry's events reach potential over RabbitMQ: the resident read model and follow-ups.

Events are published onto registry's exchange exactly as its relay would, so no registry
process is needed (potential must keep working while registry is down).
"""
from __future__ import annotations

import time
import uuid

import kombu
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.config import get_settings
from services.common.events import make_envelope
from services.common.service import unit_of_work
from services.common.topology import event_exchange, subscriptions_of
from services.potential.app import businesses, organisations
from tests.integration.potential.conftest import (
    OUTBOX,
    business_data,
    new_village,
    resident,
    staff,
)

pytestmark = pytest.mark.integration


def publish(envelope: dict) -> None:
    with kombu.Connection(get_settings().amqp_uri) as conn:
        producer = kombu.Producer(conn.channel())
        producer.publish(envelope, exchange=event_exchange("registry"),
                         routing_key=envelope["type"], serializer="json", delivery_mode=2,
                         declare=[event_exchange("registry")])


def registry_event(event_type: str, payload: dict) -> dict:
    return make_envelope(source="registry", type=event_type,
                         village_code=payload["village_code"], aggregate_id=payload["nik"],
                         payload=payload)


def eventually(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.fixture
def potential_service(container_factory, nameko_config, potential_engine):
    from services.potential.service import PotentialService

    # Other folders' tests publish registry events that nobody in potential consumed while
    # they ran; this test's events should not queue behind that backlog.
    with kombu.Connection(get_settings().amqp_uri) as conn:
        for sub in subscriptions_of(PotentialService):
            sub.queue()(conn.channel()).declare()
            sub.queue()(conn.channel()).purge()
    container = container_factory(PotentialService, nameko_config)
    container.start()
    return container


def test_registry_events_keep_the_read_model_and_open_follow_ups_once(potential_service,
                                                                      potential):
    village = new_village()
    officer = staff("officer", village)
    owner = resident(village, name="Pak Pemilik")
    publish(registry_event("resident.registered", owner))

    def known():
        with potential.engine.connect() as conn:
            return conn.scalar(sa.text("SELECT status FROM residents WHERE nik = :n"),
                               {"n": owner["nik"]})

    assert eventually(known) == "alive"
    business = potential(businesses.register, OUTBOX, village, business_data(owner["nik"]),
                         village, officer)
    org = potential(organisations.create, OUTBOX, village, {
        "type": "Gapoktan", "name": "Gapoktan Subur", "chair_nik": owner["nik"]},
        village, officer)

    died = registry_event("resident.died", {**owner, "status": "dead",
                                            "updated_at": "2099-01-01T00:00:00+00:00"})
    publish(died)
    publish(died)  # the same event again: the inbox makes it a no-op
    publish({**died, "event_id": str(uuid.uuid4())})  # republished: the follow-up is unique

    def follow_ups():
        return potential.count("follow_ups", village_code=village)

    assert eventually(lambda: follow_ups() >= 2) is True
    time.sleep(1.5)  # give the repeats time to be (not) applied
    with potential.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT subject_kind, subject_id::text, reason FROM follow_ups "
            "WHERE village_code = :v ORDER BY subject_kind"), {"v": village}).all()
    assert rows == [("business", business["id"], "died"), ("organisation", org["id"], "died")]
    assert known() == "dead"
    assert potential.events(village).count("follow_up.opened") == 2

    # Registering a business for the dead owner is refused while registry is nowhere.
    from services.common.errors import Unprocessable

    with pytest.raises(Unprocessable):
        potential(businesses.register, OUTBOX, village, business_data(owner["nik"]), village,
                  officer)


def test_an_older_event_does_not_undo_a_newer_state(potential_service, potential):
    village = new_village()
    person = resident(village, updated_at="2030-01-01T00:00:00+00:00")
    publish(registry_event("resident.moved_out", {**person, "status": "moved_out"}))
    publish(registry_event("resident.updated", {**person, "status": "alive",
                                                "updated_at": "2020-01-01T00:00:00+00:00"}))

    def status():
        with Session(potential.engine) as session, unit_of_work(session):
            return session.scalar(sa.text("SELECT status FROM residents WHERE nik = :n"),
                                  {"n": person["nik"]})

    assert eventually(lambda: status() == "moved_out") is True
    time.sleep(1.0)
    assert status() == "moved_out"
