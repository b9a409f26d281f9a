"""The resident and village read models, fed by registry events over RabbitMQ; letters keeps
working while the registry is down."""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import ClusterRpcProxy

from deploy.local.processes import desa_command, service_command
from services.common import tables
from services.common.config import get_settings
from services.common.entrypoints import EventBatch
from services.common.errors import Unprocessable
from services.letters import models
from services.letters.service import LettersService
from tests.integration.letters.conftest import (
    ROOT,
    actor,
    eventually,
    fake_nik,
    fake_village_code,
    resident_payload,
    village_payload,
)

pytestmark = pytest.mark.integration


def _resident(world, nik: str) -> models.Resident | None:
    world.session.rollback()  # see the other processes' commits
    return world.session.get(models.Resident, nik)


class Handlers:
    """Just enough of a service instance to call its consumers (they use `name` and `db`)."""
    name = LettersService.name

    def __init__(self, session):
        self.db = session


def test_handlers_are_idempotent_and_keep_the_newest_state(world):
    handlers = Handlers(world.session)
    code = world.village()["code"]
    registered = resident_payload(code, name="Siti Aminah")
    envelope = {"event_id": str(uuid.uuid4()), "type": "resident.registered",
                "source": "registry", "village_code": code, "aggregate_id": registered["nik"],
                "occurred_at": registered["updated_at"], "schema_version": 1,
                "payload": registered}
    LettersService.on_resident_registered(handlers, envelope)
    later = {**registered, "name": "Siti Aminah Rahmawati",
             "updated_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}
    LettersService.on_resident_updated(handlers, {**envelope, "event_id": str(uuid.uuid4()),
                                                  "type": "resident.updated", "payload": later})
    # The first event delivered again: the inbox skips it.
    LettersService.on_resident_registered(handlers, envelope)
    assert _resident(world, registered["nik"]).name == "Siti Aminah Rahmawati"
    # The same old state under a new event id (a replay): older than what we hold, ignored.
    LettersService.on_resident_registered(handlers, {**envelope, "event_id": str(uuid.uuid4())})
    assert _resident(world, registered["nik"]).name == "Siti Aminah Rahmawati"
    assert world.count(tables.inbox, event_id=envelope["event_id"]) == 1
    assert world.count(tables.dead_letters) == 0



def test_a_temporary_number_replaced_by_the_nik_is_the_same_person(world):
    handlers = Handlers(world.session)
    code = world.village()["code"]
    temporary = f"TMP-{code.replace('.', '')}-{uuid.uuid4().int % 10**6:06d}"
    baby = resident_payload(code, name="Bayi Contoh", nik=temporary, has_nik=False)
    LettersService.on_resident_registered(handlers, {
        "event_id": str(uuid.uuid4()), "type": "resident.registered", "source": "registry",
        "village_code": code, "aggregate_id": temporary, "occurred_at": baby["updated_at"],
        "schema_version": 1, "payload": baby})
    nik = fake_nik("P")[0]
    issued = {**baby, "nik": nik, "has_nik": True, "previous_nik": temporary,
              "updated_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}
    LettersService.on_resident_updated(handlers, {
        "event_id": str(uuid.uuid4()), "type": "resident.updated", "source": "registry",
        "village_code": code, "aggregate_id": nik, "occurred_at": issued["updated_at"],
        "schema_version": 1, "payload": issued})
    assert _resident(world, temporary) is None
    assert _resident(world, nik).name == "Bayi Contoh"
    assert world.count(tables.dead_letters) == 0

def _envelope(event_type: str, payload: dict) -> dict:
    return {"event_id": str(uuid.uuid4()), "type": event_type, "source": "registry",
            "village_code": payload["village_code"], "aggregate_id": payload["nik"],
            "occurred_at": payload["updated_at"], "schema_version": 1, "payload": payload}


def test_a_batch_keeps_the_newest_state_and_its_handlers_see_its_earlier_events(world):
    """One transaction for a batch of resident.updated events (decision 0097): two states of
    one resident out of order in one batch keep the newer one, and a temporary number replaced
    by the NIK later in the same batch finds the row its earlier event wrote."""
    handlers = Handlers(world.session)
    code = world.village()["code"]
    now = datetime.now(UTC)
    kept = resident_payload(code, name="Dewi Lestari")
    temporary = f"TMP-{code.replace('.', '')}-{uuid.uuid4().int % 10**6:06d}"
    baby = resident_payload(code, name="Bayi Contoh", nik=temporary, has_nik=False)
    LettersService.on_resident_registered(handlers, _envelope("resident.registered", baby))
    nik = fake_nik("L")[0]
    LettersService.on_resident_updated(handlers, EventBatch([
        _envelope("resident.updated", {**kept, "name": "Dewi Lestari Putri",
                                       "updated_at": (now + timedelta(seconds=2)).isoformat()}),
        _envelope("resident.updated", {**kept, "updated_at": (now + timedelta(seconds=1))
                                       .isoformat()}),
        _envelope("resident.updated", {**baby, "name": "Bayi Ahmad",
                                       "updated_at": (now + timedelta(seconds=1)).isoformat()}),
        _envelope("resident.updated", {**baby, "name": "Ahmad Fauzi", "nik": nik,
                                       "has_nik": True, "previous_nik": temporary,
                                       "updated_at": (now + timedelta(seconds=2)).isoformat()}),
    ]))
    assert _resident(world, kept["nik"]).name == "Dewi Lestari Putri"
    assert _resident(world, temporary) is None
    assert _resident(world, nik).name == "Ahmad Fauzi"
    assert world.count(tables.dead_letters) == 0
    assert world.count(tables.inbox) >= 5


def test_events_over_rabbitmq_feed_the_read_model(world, rpc, registry_events):
    code = fake_village_code()
    registry_events.publish("village.updated", village_payload(code, name="Cikande"))
    resident = resident_payload(code)
    envelope = registry_events.publish("resident.registered", resident)
    row = eventually(lambda: _resident(world, resident["nik"]), what="resident in read model")
    assert row.village_code == code and row.status == "alive"

    died = {**resident, "status": "dead",
            "updated_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}
    registry_events.publish("resident.died", died)
    eventually(lambda: _resident(world, resident["nik"]).status == "dead", what="death applied")
    registry_events.publish("resident.registered", resident, envelope=envelope)  # redelivered
    marker = resident_payload(code)
    registry_events.publish("resident.registered", marker)
    eventually(lambda: _resident(world, marker["nik"]), what="marker event applied")
    time.sleep(1.0)  # let the two consumers finish whatever they hold
    assert _resident(world, resident["nik"]).status == "dead"

    with pytest.raises(Unprocessable) as err:
        rpc.letters.request_letter({"type_code": "domisili", "purpose": "Melamar kerja"}, code,
                                   actor("resident", code, resident["nik"]))
    assert "dead" in err.value.message


def test_letters_work_with_no_registry_at_all(world, rpc, registry_events):
    """No registry process runs in this module: request, check, sign from the read model."""
    code = fake_village_code()
    registry_events.publish("village.updated", village_payload(code))
    resident = resident_payload(code)
    registry_events.publish("resident.registered", resident)
    eventually(lambda: _resident(world, resident["nik"]), what="resident in read model")
    letter = rpc.letters.request_letter({"type_code": "sktm", "purpose": "Beasiswa sekolah",
                                         "fields": {"need": "sekolah"}}, code,
                                        actor("resident", code, resident["nik"]))
    rpc.letters.check_letter(letter["id"], code, actor("officer", code))
    signed = rpc.letters.sign_letter(letter["id"], code, actor("head", code))
    assert signed["status"] == "issued" and signed["number"].startswith("401/001/")


@pytest.fixture
def registry_process(letters_processes):
    group = letters_processes.group
    group.start("registry", service_command("registry"))
    yield group
    group.stop("registry")


def test_registry_stopped_letters_still_work(world, rpc, registry_process):
    env = {**os.environ}
    subprocess.run(desa_command("seed", "villages"), env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    code = "36.04.05.2003"  # Pejaten, from the reference list
    nik, born = fake_nik("P")
    created = None
    deadline = time.monotonic() + 60
    while created is None:
        try:
            created = rpc.registry.register_resident(code, {
                "nik": nik, "name": "Nur Hasanah", "sex": "P", "birth_place": "Serang",
                "birth_date": born, "religion": "Islam", "marital_status": "Kawin",
                "occupation": "Pedagang", "education": "SLTA",
                "address": {"dusun": "Pejaten", "rw": "003", "rt": "002",
                            "street": "Kp. Pejaten"}}, actor("officer", code))
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    assert created["nik"] == nik
    eventually(lambda: _resident(world, nik), timeout=30, what="registry event reached letters")
    eventually(lambda: world.session.get(models.Village, code), what="village reached letters")

    registry_process.stop("registry")
    with ClusterRpcProxy(get_settings().nameko_config(), timeout=2) as short, \
            pytest.raises(RpcTimeout):
        short.registry.ping()  # nobody answers for the registry now

    letter = rpc.letters.request_letter({"type_code": "domisili", "purpose": "Melamar kerja"},
                                        code, actor("resident", code, nik))
    rpc.letters.check_letter(letter["id"], code, actor("officer", code))
    signed = rpc.letters.sign_letter(letter["id"], code, actor("head", code))
    assert signed["status"] == "issued"
    assert signed["number"].split("/")[2] == "2003"
    assert world.session.scalar(sa.select(models.Letter.subject_name).where(
        models.Letter.id == uuid.UUID(letter["id"]))) == "Nur Hasanah"
