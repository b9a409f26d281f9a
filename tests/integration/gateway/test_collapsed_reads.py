"""Resident reads collapsed into batch calls (decision 0101): concurrent reads of the gateway's
threads go to the real registry together, and each still gets exactly its own answer, its own
error, its own audit row; a lone read is sent at once."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from gateway.collapse import collapser
from gateway.errors import ServiceUnavailable
from services.common.errors import NotFound
from tests.integration.gateway.conftest import VILLAGE_A, VILLAGE_B, Gateway
from tests.integration.gateway.test_reads import resident_login

pytestmark = pytest.mark.integration

NOBODY = "3604070101909998"


@pytest.fixture
def app(registry_service, app_factory):
    return app_factory()


@pytest.fixture
def gw(app, accounts) -> Gateway:
    return Gateway(app.test_client(), accounts)


def _collapser(app):
    return collapser(app.extensions["desa"]["rpc"], "registry", "get_residents")


def _slow_first_batch(app, monkeypatch, seconds: float) -> list:
    """Hold the collapser's first batch call back `seconds` (before sending it), so that
    every read made meanwhile queues for the next batch; returns the sizes of batches sent."""
    pool = app.extensions["desa"]["rpc"]
    real_call, sizes = pool.call, []

    def call(service, method, args, kwargs, **options):
        if method == "get_residents":
            sizes.append(len(args[0]))
            if len(sizes) == 1:
                time.sleep(seconds)
        return real_call(service, method, args, kwargs, **options)

    monkeypatch.setattr(pool, "call", call)
    return sizes


def _at_once(app, requests: list[tuple[str, dict]]) -> list[tuple[int, dict]]:
    """GET each (path, headers) from a thread of its own, all released together."""
    answers: list = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def get(index: int, path: str, headers: dict) -> None:
        client = app.test_client()
        start.wait()
        response = client.get(path, headers=headers)
        answers[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=get, args=(index, *request))
               for index, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def _reads(registry_engine, request_ids: list[str]) -> dict[str, list[tuple]]:
    with registry_engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT request_id, subject_nik, actor_role, actor_username, actor_nik, purpose"
            " FROM audit_log WHERE action = 'read' AND request_id = ANY(:ids) ORDER BY id"),
            {"ids": request_ids}).all()
    found: dict[str, list[tuple]] = {}
    for request_id, *rest in rows:
        found.setdefault(request_id, []).append(tuple(rest))
    return found


def test_concurrent_reads_of_many_actors_each_get_their_own_answer(
        app, gw, accounts, registry_engine, monkeypatch):
    a = gw.register(name="Warga Desa A")
    a2 = gw.register(name="Warga Desa A Dua")
    b = gw.register("officer_b", VILLAGE_B, name="Warga Desa B")
    me = resident_login(gw, a["nik"])
    sizes = _slow_first_batch(app, monkeypatch, 0.5)
    run = uuid.uuid4().hex[:8]
    cases = [  # who, headers, nik, status expected
        ("officer_a", None, a["nik"], 200), ("officer_a", None, b["nik"], 404),
        ("officer_b", None, b["nik"], 200), ("officer_b", None, a["nik"], 404),
        ("head_a", None, a2["nik"], 200), ("admin", None, b["nik"], 200),
        ("admin", None, a["nik"], 200), ("officer_a", None, NOBODY, 404),
        ("resident", me, a["nik"], 200), ("resident", me, a2["nik"], 403),
        ("camat_a", None, a["nik"], 403), ("operator", None, a["nik"], 403),
        ("officer_b", None, a2["nik"], 404), ("officer_a", None, a2["nik"], 200),
        ("head_a", None, b["nik"], 404), ("resident", me, b["nik"], 403),
    ]
    requests = []
    for index, (who, headers, nik, _) in enumerate(cases):
        headers = dict(headers or gw.headers(who))
        headers["X-Request-ID"] = f"collapse-{run}-{index}"
        requests.append((f"/api/v1/residents/{nik}", headers))

    answers = _at_once(app, requests)

    records = {a["nik"]: a, a2["nik"]: a2, b["nik"]: b}
    for (who, _, nik, status), (got, body) in zip(cases, answers, strict=True):
        assert got == status, (who, nik, body)
        if status == 200:
            assert body == gw.request("GET", f"/api/v1/residents/{nik}", "admin").get_json()
            assert body["nik"] == nik and body["name"] == records[nik]["name"]
        elif status == 404:
            assert body == {"error": {"code": "not_found", "message": "Resident not found"}}
        else:
            assert body["error"]["code"] == "forbidden"
    # Batches formed: the first carried one read, the rest queued behind it.
    assert sizes[0] == 1 and len(sizes) < len(cases) - 3 and max(sizes) > 1
    # One access-log row per successful read, with that request's reader and nik only.
    logged = _reads(registry_engine, [headers["X-Request-ID"] for _, headers in requests])
    expected = {}
    for index, (who, _, nik, status) in enumerate(cases):
        if status == 200:
            role = {"officer_a": "officer", "officer_b": "officer", "head_a": "head",
                    "admin": "regency_admin", "resident": "resident"}[who]
            username = None if who == "resident" else accounts[who]
            expected[f"collapse-{run}-{index}"] = [
                (nik, role, username, a["nik"] if who == "resident" else None,
                 "resident.read")]
    assert logged == expected


def test_a_lone_read_is_sent_at_once_in_a_batch_of_its_own(app, gw, monkeypatch):
    a = gw.register()
    gw.request("GET", f"/api/v1/residents/{a['nik']}", "officer_a")  # proxy and token made
    pool = app.extensions["desa"]["rpc"]
    real_call, sent = pool.call, []

    def call(service, method, args, kwargs, **options):
        sent.append((time.monotonic(), threading.get_ident(), len(args[0])))
        return real_call(service, method, args, kwargs, **options)

    monkeypatch.setattr(pool, "call", call)
    stats = _collapser(app).stats
    before = stats.batches
    began = time.monotonic()
    response = gw.request("GET", f"/api/v1/residents/{a['nik']}", "officer_a")
    assert response.status_code == 200 and response.get_json()["nik"] == a["nik"]
    assert stats.batches == before + 1
    [(at, thread, size)] = sent
    # Sent by the reading thread itself, without waiting for company (no batching window).
    assert thread == threading.get_ident() and size == 1
    assert at - began < 0.1


def test_one_item_failing_does_not_fail_the_others(app, gw, monkeypatch):
    a = gw.register()
    sizes = _slow_first_batch(app, monkeypatch, 0.4)
    officer = gw.headers("officer_a")
    paths = [f"/api/v1/residents/{nik}" for nik in [a["nik"]] + [NOBODY, a["nik"]] * 4]
    answers = _at_once(app, [(path, officer) for path in paths])
    assert [status for status, _ in answers] == [200] + [404, 200] * 4
    assert max(sizes) > 1


def test_each_item_keeps_its_own_deadline(app, gw, accounts):
    """Queued behind a slow batch, a read whose deadline passes gets the timeout error (503),
    and the read beside it with a longer deadline its record."""
    a = gw.register()
    pool = app.extensions["desa"]["rpc"]
    collapse = _collapser(app)
    item = {"nik": a["nik"], "scope": VILLAGE_A,
            "actor": {"role": "officer", "village_code": VILLAGE_A,
                      "username": accounts["officer_a"], "nik": None}}
    real_call = pool.call
    held = threading.Event()

    def slow(service, method, args, kwargs, **options):
        if not held.is_set():
            held.set()
            time.sleep(1.5)
        return real_call(service, method, args, kwargs, **options)

    pool.call = slow
    outcomes: dict = {}

    def read(name: str, timeout: float) -> None:
        try:
            outcomes[name] = collapse.call(dict(item), timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - the outcome looked at below
            outcomes[name] = exc

    try:
        first = threading.Thread(target=read, args=("first", 10))
        first.start()
        assert held.wait(5)
        short = threading.Thread(target=read, args=("short", 0.5))
        long = threading.Thread(target=read, args=("long", 10))
        short.start()
        long.start()
        for thread in (first, short, long):
            thread.join(20)
    finally:
        del pool.call
    assert outcomes["first"]["nik"] == a["nik"] and outcomes["long"]["nik"] == a["nik"]
    assert isinstance(outcomes["short"], ServiceUnavailable)
    with pytest.raises(NotFound):
        collapse.call({**item, "nik": NOBODY})
