"""The gateway in-process (Flask test client of create_app()) in front of the REAL registry.

The registry runs in nameko's `container_factory` against this run's PostgreSQL, RabbitMQ and
SeaweedFS; accounts are made with the registry's own application functions.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from gateway.app import create_app
from services.common.config import get_settings
from services.common.topology import service_classes
from tests.support import fakes
from tests.support.fakes import fake_person_nik

VILLAGE_A = "36.04.07.2001"
VILLAGE_B = "36.04.07.2002"
DISTRICT_A = "36.04.07"  # both villages' district (kecamatan)
DISTRICT_B = "36.04.08"
PASSWORD = "correct-horse-battery"
# Fake NIKs valid in form: district 360407 (Serang), birth dates from 1951, serials 9xxx.


def fake_nik(sex: str = "L") -> tuple[str, str]:
    """(nik, birth_date) for a synthetic person, unique within this run."""
    return fake_person_nik(sex, district="360407")


def fake_family_number() -> str:
    return fakes.fake_family_number(district="360407")


def resident_data(sex: str = "L", **overrides) -> dict:
    nik, born = fake_nik(sex)
    data = {"nik": nik, "name": "Contoh Warga", "sex": sex, "birth_place": "Serang",
            "birth_date": born, "religion": "Islam", "marital_status": "Kawin",
            "occupation": "Petani", "education": "SMA",
            "address": {"dusun": "Dusun Satu", "rw": "002", "rt": "001", "street": "Kp. Contoh"}}
    data.update(overrides)
    return data


@dataclass
class Accounts:
    """Usernames of this run's accounts (all with PASSWORD)."""

    names: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> str:
        return self.names[key]


@pytest.fixture(scope="session")
def accounts(registry_engine) -> Accounts:
    from services.common.service import unit_of_work
    from services.registry.app.accounts import create_account

    suffix = uuid.uuid4().hex[:6]
    wanted = {
        "officer_a": ("officer", VILLAGE_A), "head_a": ("head", VILLAGE_A),
        "officer_b": ("officer", VILLAGE_B), "admin": ("regency_admin", None),
        "operator": ("operator", None), "camat_a": ("district_admin", DISTRICT_A),
        "camat_b": ("district_admin", DISTRICT_B),
    }
    made = Accounts()
    with sa.orm.Session(registry_engine) as session, unit_of_work(session):
        for key, (role, place) in wanted.items():
            username = f"gw.{key.replace('_', '.')}.{suffix}"
            district = place if role == "district_admin" else None
            create_account(session, role, username, PASSWORD, None if district else place,
                           district_code=district)
            made.names[key] = username
    return made


@pytest.fixture
def registry_service(container_factory, nameko_config):
    """The real registry service in a nameko container on this run's broker and database."""
    from services.registry.service import RegistryService

    container = container_factory(RegistryService, nameko_config)
    container.start()
    return container


@pytest.fixture
def running_services(container_factory, nameko_config):
    """Every service of this checkout running in a nameko container (what /readyz checks)."""
    containers = []
    for cls in service_classes():
        container = container_factory(cls, nameko_config)
        container.start()
        containers.append(container)
    return containers


def _app(**settings_changes):
    from dataclasses import replace

    settings = replace(get_settings(), **settings_changes) if settings_changes else None
    return create_app(settings)


@pytest.fixture
def app_factory(migrated):
    apps = []

    def make(**settings_changes):
        app = _app(**settings_changes)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["desa"]["rpc"].close_all()


class Gateway:
    """The test client plus logins: `gw.as_("officer_a").get(...)`."""

    def __init__(self, client, accounts: Accounts):
        self.client = client
        self.accounts = accounts
        self._tokens: dict = {}

    def login(self, key: str) -> str:
        if key not in self._tokens:
            response = self.client.post("/api/v1/auth/login", json={
                "username": self.accounts[key], "password": PASSWORD})
            assert response.status_code == 200, response.get_json()
            self._tokens[key] = response.get_json()["access_token"]
        return self._tokens[key]

    def headers(self, key: str | None) -> dict:
        return {"Authorization": f"Bearer {self.login(key)}"} if key else {}

    def request(self, method: str, path: str, who: str | None = None, **kwargs):
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def register(self, who: str = "officer_a", village: str = VILLAGE_A, **data) -> dict:
        response = self.request("POST", f"/api/v1/villages/{village}/residents", who,
                                json=resident_data(**data))
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture
def gw(registry_service, app_factory, accounts) -> Gateway:
    return Gateway(app_factory().test_client(), accounts)


def count_rows(engine, table: str, **where) -> int:
    clause = " AND ".join(f"{name} = :{name}" for name in where) or "TRUE"
    with engine.connect() as conn:
        return conn.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE {clause}"), where)


@pytest.fixture
def snapshot(registry_engine):
    """Row counts of every registry table that a bad request must leave alone."""

    def take() -> dict:
        return {table: count_rows(registry_engine, table) for table in (
            "residents", "resident_changes", "families", "family_memberships", "life_events",
            "outbox", "villages")}

    return take


@pytest.fixture(scope="module")
def served_gateway(migrated, tmp_path_factory) -> str:
    """The gateway under gunicorn (gthread workers), as deployed: its URL.

    For what only a real HTTP server shows (a client still sending a body the gateway refused);
    no service is needed for what is refused at the edge.
    """
    import os

    from deploy.local.processes import (
        ProcessGroup,
        gateway_command,
        gateway_url,
        http_ok,
        wait_until,
    )
    from deploy.local.seaweed import free_port

    workdir = tmp_path_factory.mktemp("gunicorn")
    bind = f"127.0.0.1:{free_port()}"
    group = ProcessGroup(workdir / "run", workdir / "log", env=dict(os.environ))
    group.start("gateway", gateway_command(bind, workers=1, threads=4))
    url = gateway_url(bind)
    try:
        wait_until(lambda: http_ok(f"{url}/healthz"), 60, "gunicorn /healthz",
                   failed=lambda: group.log_tail("gateway") if group.exited("gateway")
                   is not None else None)
        yield url
    finally:
        group.stop_all()


def follow_import(gw, url: str, timeout: float = 120.0) -> dict:
    """Poll an import job's URL until it has succeeded or failed."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        response = gw.request("GET", url, "officer_a")
        assert response.status_code == 200, response.get_json()
        job = response.get_json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)
