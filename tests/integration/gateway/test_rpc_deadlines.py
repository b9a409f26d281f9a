"""Late and repeated RPCs (issue 7, items 3 and 5) through the gateway against the REAL registry
and letters services, broker and database.

A request to a stopped service fails at once with 503 and Retry-After and never runs later; a
request that waited past its deadline is refused by the service; a state-changing request sent
again with the same Idempotency-Key (by the client, or by the broker redelivering it after a
dropped connection) returns the first result and creates nothing new.
"""
from __future__ import annotations

import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy.orm import Session

from services.common.errors import DeadlineExceeded
from services.common.service import unit_of_work
from services.letters.app import readmodels
from services.letters.service import LettersService
from tests.integration.gateway.conftest import VILLAGE_A
from tests.integration.letters.conftest import resident_payload, village_payload
from tests.support.infrastructure import rabbitmqctl

# With the RPC timeout at its default (10 s), answering within this shows nobody waited it out.
FAIL_FAST_SECONDS = 3.0


@pytest.fixture
def subject(letters_engine) -> str:
    """A resident of VILLAGE_A in letters' read model (as registry's events would put it)."""
    resident = resident_payload(VILLAGE_A)
    with Session(letters_engine) as session, unit_of_work(session):
        readmodels.apply_village(session, village_payload(VILLAGE_A))
        readmodels.apply_resident(session, resident)
    return resident["nik"]


@pytest.fixture
def letters_service(container_factory, nameko_config):
    """Start (and stop) the real letters service; each call is a new container."""

    def start():
        container = container_factory(LettersService, nameko_config)
        container.start()
        return container

    return start


def letters_of(engine, nik: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.text(
            "SELECT id::text FROM letters WHERE subject_nik = :nik ORDER BY requested_at"),
            {"nik": nik}))


def request_body(nik: str, purpose: str = "Melamar pekerjaan") -> dict:
    return {"type_code": "domisili", "subject_nik": nik, "purpose": purpose}


def post_letter(gw, nik: str, key: str | None = None, **body):
    headers = {"Idempotency-Key": key} if key else {}
    return gw.request("POST", "/api/v1/letters", "officer_a", json=request_body(nik, **body),
                      headers=headers)


def wait_for(condition, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def lock_waiters(engine) -> int:
    """Backends of this run's letters database waiting on a lock."""
    with engine.connect() as conn:
        return conn.scalar(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"))


class TableLock:
    """Holds `LOCK TABLE letters IN SHARE MODE`: reads go on, a new letter waits for it."""

    def __init__(self, engine):
        self.connection = engine.connect()
        self.transaction = self.connection.begin()
        self.connection.execute(sa.text("LOCK TABLE letters IN SHARE MODE"))

    def release(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()
        self.connection.close()


@pytest.fixture
def letters_lock(letters_engine):
    locks: list[TableLock] = []

    def take() -> TableLock:
        locks.append(TableLock(letters_engine))
        return locks[-1]

    yield take
    for lock in locks:
        lock.release()


# -- item 3: a stopped service fails fast -----------------------------------------------------

def test_calls_to_a_stopped_service_fail_fast_with_retry_after(gw, letters_service, subject):
    letters_service().stop()  # its durable queue stays, with nobody consuming it
    for method, path, body in (("GET", f"/api/v1/residents/{subject}/letters", None),
                               ("POST", "/api/v1/letters", request_body(subject))):
        started = time.monotonic()
        response = gw.request(method, path, "officer_a", json=body)
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.get_json()
        assert response.get_json()["error"]["code"] == "service_unavailable"
        assert int(response.headers["Retry-After"]) > 0
        assert elapsed < FAIL_FAST_SECONDS, f"{method} {path} took {elapsed:.1f} s"


# -- item 5: deadlines ------------------------------------------------------------------------

def test_a_letter_refused_while_letters_was_stopped_is_not_created_when_it_starts(
        gw, letters_service, letters_engine, subject):
    letters_service().stop()
    refused = post_letter(gw, subject)
    assert refused.status_code == 503
    letters_service()  # letters is back; whatever waited in its queue would run now
    time.sleep(2.0)
    assert letters_of(letters_engine, subject) == []
    # And the platform works again: the client's retry is what creates the letter.
    assert post_letter(gw, subject).status_code == 201
    assert len(letters_of(letters_engine, subject)) == 1


def test_work_that_outlives_its_deadline_is_rolled_back(gw, app_factory, letters_service,
                                                        letters_engine, letters_lock, subject):
    letters_service()
    client = app_factory(rpc_timeout_seconds=1.5).test_client()
    headers = gw.headers("officer_a")
    lock = letters_lock()
    started = time.monotonic()
    response = client.post("/api/v1/letters", json=request_body(subject), headers=headers)
    assert response.status_code == 503
    assert time.monotonic() - started < 1.5 + 2.0  # the timeout and the reply grace
    lock.release()  # the service's worker now finishes its insert, past the deadline
    time.sleep(1.5)
    assert letters_of(letters_engine, subject) == []


def test_a_request_already_past_its_deadline_never_runs(letters_service, letters_engine,
                                                        nameko_config, subject):
    letters_service()
    late = {"deadline": time.time() - 1, "idempotency_key": uuid.uuid4().hex}
    with ClusterRpcProxy(nameko_config, context_data=late, timeout=10) as proxy:
        with pytest.raises(DeadlineExceeded):
            proxy.letters.request_letter(request_body(subject), VILLAGE_A, {
                "role": "officer", "village_code": VILLAGE_A, "username": "t", "nik": None})
        # A request with time left is served by the same service.
        in_time = {"deadline": time.time() + 10}
    with ClusterRpcProxy(nameko_config, context_data=in_time, timeout=10) as proxy:
        assert proxy.letters.ping()["database"] == "ok"
    assert letters_of(letters_engine, subject) == []


# -- item 5: idempotency ----------------------------------------------------------------------

def test_a_retry_with_the_same_key_returns_the_first_letter(gw, letters_service, letters_engine,
                                                             subject):
    letters_service()
    key = f"client-{uuid.uuid4().hex}"
    first = post_letter(gw, subject, key)
    again = post_letter(gw, subject, key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert letters_of(letters_engine, subject) == [first.get_json()["id"]]

    # The same key for a different request is refused and changes nothing.
    other = post_letter(gw, subject, key, purpose="Keperluan lain")
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    # Without a key each request is its own: the gateway makes a new key every time.
    assert post_letter(gw, subject).status_code == 201
    assert post_letter(gw, subject).status_code == 201
    assert len(letters_of(letters_engine, subject)) == 3


def test_a_bad_idempotency_key_is_400(gw, letters_service, subject):
    letters_service()
    response = post_letter(gw, subject, "spaces are not allowed")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["error"]["fields"]


def test_a_retry_after_a_503_creates_one_letter(gw, app_factory, letters_service,
                                                letters_engine, letters_lock, subject):
    """The first attempt timed out at the gateway while the service was stuck; the retry with
    the same key then creates the letter exactly once."""
    letters_service()
    client = app_factory(rpc_timeout_seconds=1.0).test_client()
    headers = {**gw.headers("officer_a"), "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    lock = letters_lock()
    assert client.post("/api/v1/letters", json=request_body(subject),
                       headers=headers).status_code == 503
    lock.release()
    retry = client.post("/api/v1/letters", json=request_body(subject), headers=headers)
    assert retry.status_code == 201, retry.get_json()
    again = client.post("/api/v1/letters", json=request_body(subject), headers=headers)
    assert again.get_json() == retry.get_json()
    assert letters_of(letters_engine, subject) == [retry.get_json()["id"]]


def test_a_call_redelivered_after_a_dropped_connection_runs_once(
        gw, app_factory, letters_service, letters_engine, letters_lock, subject, infra):
    """The broker hands an unacknowledged request to the service again when the connection it
    was delivered on drops mid-call: both copies carry the same key, and only one letter is
    made; the client's retry gets that letter."""
    letters_service()
    client = app_factory(rpc_timeout_seconds=30).test_client()
    headers = {**gw.headers("officer_a"), "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    lock = letters_lock()
    outcome: list = []
    first = threading.Thread(target=lambda: outcome.append(client.post(
        "/api/v1/letters", json=request_body(subject), headers=headers)))
    first.start()
    try:
        wait_for(lambda: lock_waiters(letters_engine) >= 1, what="the first run to block")
        rabbitmqctl("close_all_connections", "-p", infra.vhost, "test: connection dropped")
        # The request comes back from the broker and a second worker starts on it.
        wait_for(lambda: lock_waiters(letters_engine) >= 2, what="the redelivered run")
    finally:
        lock.release()
        first.join(timeout=40)
    assert outcome and outcome[0].status_code in (201, 503), outcome
    retry = wait_for(lambda: _created(client, subject, headers), what="the retry to succeed")
    assert letters_of(letters_engine, subject) == [retry["id"]]
    if outcome[0].status_code == 201:
        assert outcome[0].get_json() == retry


def _created(client, nik: str, headers: dict) -> dict | None:
    response = client.post("/api/v1/letters", json=request_body(nik), headers=headers)
    return response.get_json() if response.status_code == 201 else None
