"""Login over HTTP: staff passwords, resident NIK + PIN, failures and the lock-out."""
from __future__ import annotations

import statistics
import time

import jwt
import sqlalchemy as sa

from services.common.config import get_settings, reset_settings
from tests.integration.gateway.conftest import PASSWORD, VILLAGE_A, fake_nik


def test_staff_login_answers_a_bearer_token(gw, accounts):
    response = gw.client.post("/api/v1/auth/login", json={
        "username": accounts["officer_a"], "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["role"] == "officer"
    assert body["village_code"] == VILLAGE_A
    assert body["expires_in"] == get_settings().token_ttl_seconds
    claims = jwt.decode(body["access_token"], get_settings().jwt_secret, algorithms=["HS256"],
                        audience="desa-digital-api", issuer="desa-digital")
    assert claims["role"] == "officer" and claims["village_code"] == VILLAGE_A


def test_wrong_password_is_401(gw, accounts):
    for username in (accounts["officer_a"], "nobody.here"):
        response = gw.client.post("/api/v1/auth/login", json={
            "username": username, "password": "not-the-password"})
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
        assert "access_token" not in response.get_json()


def test_login_needs_one_complete_pair(gw):
    for body in ({}, {"username": "x"}, {"username": "x", "password": "y", "pin": "123456"},
                 {"nik": "3604071201519001"}, {"username": 5, "password": "y"}):
        response = gw.client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] == "validation_error"


def test_resident_logs_in_with_nik_and_pin_and_reads_only_self(gw):
    me = gw.register(sex="P")
    other = gw.register()
    issued = gw.request("POST", f"/api/v1/residents/{me['nik']}/pin", "officer_a")
    assert issued.status_code == 201
    pin = issued.get_json()["pin"]
    assert len(pin) == 6 and pin.isdigit()

    login = gw.client.post("/api/v1/auth/login", json={"nik": me["nik"], "pin": pin})
    assert login.status_code == 200
    assert login.get_json()["role"] == "resident"
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}

    own = gw.client.get(f"/api/v1/residents/{me['nik']}", headers=headers)
    assert own.status_code == 200 and own.get_json()["nik"] == me["nik"]
    assert gw.client.get(f"/api/v1/residents/{other['nik']}",
                         headers=headers).status_code == 403
    for method, path in (("GET", f"/api/v1/villages/{VILLAGE_A}/residents"),
                         ("PATCH", f"/api/v1/residents/{me['nik']}"),
                         ("GET", f"/api/v1/residents/{me['nik']}/history"),
                         ("POST", f"/api/v1/residents/{me['nik']}/pin")):
        response = gw.client.open(path, method=method, headers=headers, json={"name": "X"})
        assert response.status_code == 403, (method, path)


LOGIN = "/api/v1/auth/login"


def _from(gw, address: str):
    """Log in attempts from `address` (the gateway passes the peer address to registry)."""
    def post(body: dict):
        return gw.client.post(LOGIN, json=body, environ_base={"REMOTE_ADDR": address})
    return post


def _lock_row(registry_engine, kind: str) -> dict:
    with registry_engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT failures, lockouts, locked_until - now() AS remaining FROM login_failures "
            "WHERE kind = :kind ORDER BY last_failure_at DESC LIMIT 1"), {"kind": kind})
        return row.mappings().one()


def test_pin_login_locks_after_five_failures(gw, production_lockout):
    me = gw.register()
    pin = gw.request("POST", f"/api/v1/residents/{me['nik']}/pin", "officer_a").get_json()["pin"]
    wrong = f"{(int(pin) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = gw.client.post(LOGIN, json={"nik": me["nik"], "pin": wrong})
        assert response.status_code == 401
    # Locked: even the right PIN is refused now, server-side.
    locked = gw.client.post(LOGIN, json={"nik": me["nik"], "pin": pin})
    assert locked.status_code == 429
    assert locked.get_json()["error"]["code"] == "too_many_attempts"


def test_staff_password_locks_with_backoff(gw, accounts, registry_engine, production_lockout):
    """30 wrong passwords, then the right one: refused (before: 200). Locks double."""
    post = _from(gw, "192.0.2.10")
    username = accounts["officer_b"]
    statuses = [post({"username": username, "password": "not-the-password"}).status_code
                for _ in range(30)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, statuses
    right = post({"username": username, "password": PASSWORD})
    assert right.status_code == 429, right.get_json()
    assert right.get_json()["error"]["fields"]["locked_until"]
    first = _lock_row(registry_engine, "account")
    lock = production_lockout.login_lock_seconds
    assert first["lockouts"] == 1 and lock - 60 < first["remaining"].total_seconds() <= lock

    # Once the lock has passed, the next five failures lock it again, twice as long.
    with registry_engine.begin() as conn:
        conn.execute(sa.text("UPDATE login_failures SET locked_until = now() - interval '1 s' "
                             "WHERE kind = 'account'"))
    for _ in range(5):
        assert post({"username": username, "password": "nope-nope"}).status_code == 401
    assert post({"username": username, "password": PASSWORD}).status_code == 429
    second = _lock_row(registry_engine, "account")
    assert second["lockouts"] == 2
    assert 2 * lock - 60 < second["remaining"].total_seconds() <= 2 * lock

    # After the lock, the right password works and clears the account's counter.
    with registry_engine.begin() as conn:
        conn.execute(sa.text("UPDATE login_failures SET locked_until = now() - interval '1 s' "
                             "WHERE kind = 'account'"))
    assert post({"username": username, "password": PASSWORD}).status_code == 200
    with registry_engine.connect() as conn:
        assert conn.scalar(sa.text(
            "SELECT count(*) FROM login_failures WHERE kind = 'account'")) == 0


def _attempts(post, nik: str, pin: str, times: int) -> list[tuple[int, dict, float]]:
    results = []
    for _ in range(times):
        started = time.perf_counter()
        response = post({"nik": nik, "pin": pin})
        elapsed = time.perf_counter() - started
        error = response.get_json()["error"]
        # locked_until is a time; what it says (a lock) must match, not the instant.
        error = {**error, "fields": sorted(error.get("fields", {}))}
        results.append((response.status_code, error, elapsed))
    return results


def test_unknown_nik_answers_exactly_like_a_wrong_pin(gw, production_lockout):
    """Same statuses, same bodies, same timing class: nothing tells who has a PIN."""
    post = _from(gw, "192.0.2.20")
    with_pin = gw.register()
    pin = gw.request("POST", f"/api/v1/residents/{with_pin['nik']}/pin",
                     "officer_a").get_json()["pin"]
    wrong = f"{(int(pin) + 1) % 1_000_000:06d}"
    without_pin = gw.register()
    unknown, _ = fake_nik()
    runs = {name: _attempts(post, nik, wrong, 7) for name, nik in (
        ("with_pin", with_pin["nik"]), ("without_pin", without_pin["nik"]),
        ("unknown", unknown))}
    shape = {name: [(status, body) for status, body, _ in run] for name, run in runs.items()}
    assert [status for status, _ in shape["with_pin"]] == [401] * 5 + [429] * 2
    assert shape["without_pin"] == shape["with_pin"]
    assert shape["unknown"] == shape["with_pin"]
    # Timing class: every wrong-PIN answer runs one argon2 check, every locked answer none.
    checked = {name: statistics.median(t for _, _, t in run[:5]) for name, run in runs.items()}
    locked = {name: max(t for _, _, t in run[5:]) for name, run in runs.items()}
    reference = checked["with_pin"]
    for name in ("without_pin", "unknown"):
        assert reference / 3 < checked[name] < reference * 3, checked
    assert max(locked.values()) < min(checked.values()), (checked, locked)


def test_source_address_limit_spans_many_niks(gw, production_lockout, monkeypatch):
    """A few PINs against many NIKs: the address is locked (before: unlimited)."""
    monkeypatch.setenv("DESA_LOGIN_FAILURES_PER_ADDRESS", "8")  # production: 100, slow to reach
    reset_settings()
    attacker, neighbour = _from(gw, "198.51.100.7"), _from(gw, "198.51.100.8")
    me = gw.register()
    pin = gw.request("POST", f"/api/v1/residents/{me['nik']}/pin", "officer_a").get_json()["pin"]
    statuses = [attacker({"nik": fake_nik()[0], "pin": "123456"}).status_code
                for _ in range(10)]
    assert statuses == [401] * 8 + [429] * 2, statuses
    # Everything from that address waits now, even a right PIN; other addresses do not.
    assert attacker({"nik": me["nik"], "pin": pin}).status_code == 429
    assert neighbour({"nik": me["nik"], "pin": pin}).status_code == 200
    # A success does not reset the address: it stays locked.
    assert attacker({"nik": fake_nik()[0], "pin": "123456"}).status_code == 429
    monkeypatch.delenv("DESA_LOGIN_FAILURES_PER_ADDRESS")
    reset_settings()


def test_tokens_are_checked_on_every_protected_route(gw):
    me = gw.register()
    path = f"/api/v1/residents/{me['nik']}"
    assert gw.client.get(path).status_code == 401
    assert gw.client.get(path, headers={"Authorization": "Bearer x.y.z"}).status_code == 401
    assert gw.client.get(path, headers=gw.headers("officer_a")).status_code == 200
