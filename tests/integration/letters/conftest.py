"""Letters against real PostgreSQL, RabbitMQ and SeaweedFS.

`letters_db` gives application-level access (a Session per test, the real object store);
`letters_processes` runs the letters service as real processes (`python -m
services.common.runner letters`, two of them sharing the queues) plus the relay, and `rpc` talks
to them as the gateway does. Registry events are published onto registry's exchange exactly as
its relay would, so no registry process is needed (that is the point: letters must not need it).
"""
from __future__ import annotations

import itertools
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import kombu
import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy.orm import Session

from deploy.local.processes import ProcessGroup, relay_command, service_command, wait_until
from services.common import tables
from services.common.config import get_settings
from services.common.events import make_envelope
from services.common.objectstore import documents_store
from services.common.outbox import Outbox
from services.common.service import unit_of_work
from services.common.topology import event_exchange
from services.letters import tokens
from services.letters.app import issuing, numbering, readmodels, requests
from tests.support.fakes import fake_person_nik

ROOT = Path(__file__).resolve().parents[3]
OUTBOX = Outbox("letters")
_villages = itertools.count(random.randint(100, 500))


def fake_village_code() -> str:
    """A village code of district 36.04.05 unused by other tests of this run."""
    return f"36.04.05.{2000 + next(_villages) % 8000:04d}"


def fake_nik(sex: str = "L") -> tuple[str, str]:
    """(nik, birth_date): clearly fake, valid in form (district 360405, serial 9xxx)."""
    return fake_person_nik(sex)


def village_payload(code: str, **overrides) -> dict:
    data = {
        "code": code, "name": "Sukamaju", "district_code": code.rsplit(".", 1)[0],
        "district_name": "Kramatwatu", "regency_code": "36.04", "regency_name": "Kabupaten Serang",
        "kind": "desa", "short_code": code.rsplit(".", 1)[1],
        "office_address": "Jl. Raya Kramatwatu No. 1, Serang 42161", "head_name": "H. Ahmad Fauzi",
        "head_title": "Kepala Desa", "secretary_name": "Dedi Supriadi", "phone": "(0254) 123456",
        "email": None, "internet_installed": True, "digital_services_since": None,
        "website_url": None, "letter_number_scope": "per_type",
        "letter_number_format": "{code}/{seq:03d}/{short_code}/{month_roman}/{year}",
        "paper_size": "A4", "updated_at": datetime.now(UTC).isoformat(),
    }
    data.update(overrides)
    return data


def resident_payload(village_code: str, sex: str = "P", **overrides) -> dict:
    nik, born = fake_nik(sex)
    data = {
        "nik": nik, "has_nik": True, "name": "Siti Aminah", "sex": sex, "birth_place": "Serang",
        "birth_date": born, "religion": "islam", "citizenship": "WNI", "blood_type": "O",
        "marital_status": "kawin", "occupation": "Wiraswasta", "education": "SLTA",
        "family_number": None, "relationship": 3, "father_name": "Mahmud",
        "father_nik": None, "mother_name": "Aisyah", "mother_nik": None,
        "ektp_status": "sudah", "phone": None, "email": None,
        "address": {"dusun": "Krajan", "rw": "2", "rt": "1", "street": "Kp. Babakan"},
        "status": "alive", "village_code": village_code,
        "registered_at": datetime.now(UTC).isoformat(),
        "updated_at": datetime.now(UTC).isoformat(), "warnings": [],
    }
    data.update(overrides)
    return data


def actor(role: str, village_code: str | None = None, nik: str | None = None) -> dict:
    return {"role": role, "village_code": village_code, "username": f"test.{role}", "nik": nik}


@pytest.fixture(scope="session")
def signing_key_env(migrated):
    """The run's letter signing key (tests/support/infrastructure.py generates one per run)."""
    return tokens.load_signing_key(get_settings().letter_signing_key)


@pytest.fixture(scope="session")
def store(migrated):
    client = documents_store()
    client.ensure_bucket()
    return client


@dataclass
class LettersWorld:
    """Application-level access to the letters service: one session, the real store."""
    engine: sa.Engine
    store: object
    key: object
    session: Session = field(init=False)

    def __post_init__(self) -> None:
        self.session = Session(bind=self.engine, expire_on_commit=False)

    def village(self, **overrides) -> dict:
        payload = village_payload(overrides.pop("code", None) or fake_village_code(), **overrides)
        self.do(readmodels.apply_village, payload)
        return payload

    def resident(self, village_code: str, **overrides) -> dict:
        payload = resident_payload(village_code, **overrides)
        self.do(readmodels.apply_resident, payload)
        return payload

    def do(self, fn: Callable, *args, **kwargs):
        """Run an application function in a unit of work, as an entrypoint does."""
        with unit_of_work(self.session):
            return fn(self.session, *args, **kwargs)

    def request(self, village_code: str, nik: str, type_code: str = "domisili",
                **data) -> dict:
        body = {"type_code": type_code, "subject_nik": nik, "purpose": "Persyaratan kerja",
                **data}
        return self.do(requests.request_letter, OUTBOX, body, village_code,
                       actor("officer", village_code))

    def checked(self, village_code: str, nik: str, type_code: str = "domisili") -> dict:
        letter = self.request(village_code, nik, type_code)
        return self.do(requests.change_status, OUTBOX, letter["id"], "check", village_code,
                       actor("officer", village_code))

    def sign_and_issue(self, village_code: str, letter_id: str) -> dict:
        self.do(numbering.sign_letter, OUTBOX, letter_id, village_code, actor("head", village_code))
        return self.do(issuing.issue_letter, OUTBOX, self.store, self.key, letter_id)

    def count(self, table, **where) -> int:
        stmt = sa.select(sa.func.count()).select_from(table)
        for name, value in where.items():
            stmt = stmt.where(table.c[name] == value)
        return self.session.scalar(stmt)

    def events(self, aggregate_id: str) -> list[str]:
        return list(self.session.scalars(
            sa.select(tables.outbox.c.type).where(tables.outbox.c.aggregate_id == aggregate_id)
            .order_by(tables.outbox.c.id)))


@pytest.fixture
def world(letters_engine, store, signing_key_env):
    letters = LettersWorld(letters_engine, store, signing_key_env)
    yield letters
    letters.session.close()


# -- the service as real processes -----------------------------------------------------------

class RegistryEvents:
    """Publishes envelopes on registry's event exchange, as registry's relay does."""

    def __init__(self, amqp_uri: str):
        self.connection = kombu.Connection(amqp_uri, transport_options={"confirm_publish": True})
        self.producer = kombu.Producer(self.connection.channel())
        self.exchange = event_exchange("registry")

    def publish(self, event_type: str, payload: dict, envelope: dict | None = None) -> dict:
        envelope = envelope or make_envelope(
            source="registry", type=event_type, village_code=payload.get("village_code")
            or payload.get("code"), aggregate_id=payload.get("nik") or payload.get("code"),
            payload=payload)
        self.producer.publish(envelope, exchange=self.exchange, routing_key=envelope["type"],
                              serializer="json", delivery_mode=2, declare=[self.exchange])
        return envelope

    def close(self) -> None:
        self.connection.release()


@dataclass
class LettersProcesses:
    group: ProcessGroup
    names: list[str]

    def logs(self) -> str:
        return "\n".join(f"--- {n} ---\n{self.group.log_tail(n, 60)}" for n in self.names)


@pytest.fixture(scope="module")
def letters_processes(migrated, signing_key_env, tmp_path_factory):
    """Two letters service processes and the relay."""
    workdir = tmp_path_factory.mktemp("letters")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    group = ProcessGroup(workdir / "run", workdir / "log", env=env, cwd=ROOT)
    names = ["letters-1", "letters-2", "relay"]
    group.start("letters-1", service_command("letters"))
    group.start("letters-2", service_command("letters"))
    group.start("relay", relay_command())
    processes = LettersProcesses(group, names)
    try:
        with ClusterRpcProxy(get_settings().nameko_config(), timeout=10) as proxy:
            def ready() -> bool:
                for name in names:
                    if group.exited(name) is not None:
                        raise AssertionError(f"{name} exited:\n{processes.logs()}")
                try:
                    proxy.letters.ping()
                    return True
                except Exception:  # noqa: BLE001 - not consuming yet
                    return False
            wait_until(ready, 60, "letters service ping")
        yield processes
    finally:
        group.stop_all(names)


@pytest.fixture
def rpc(letters_processes):
    with ClusterRpcProxy(get_settings().nameko_config(), timeout=30) as proxy:
        yield proxy


@pytest.fixture
def registry_events(migrated):
    publisher = RegistryEvents(get_settings().amqp_uri)
    yield publisher
    publisher.close()


def eventually(check: Callable[[], object], timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def new_id() -> str:
    return str(uuid.uuid4())
