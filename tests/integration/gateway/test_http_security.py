"""HTTP hardening (gateway/security.py): secure headers, the CORS allow-list, rate limits on
public routes and on logins, body limits per route, and no caching of answers that carry
personal data."""
from __future__ import annotations

import io

import pytest

from tests.integration.gateway.conftest import VILLAGE_A

pytestmark = pytest.mark.integration

ALLOWED = "https://desa.serangkab.example"


def test_api_answers_carry_secure_headers_and_personal_data_is_never_cached(gw):
    anonymous = gw.request("GET", "/api/v1/villages")
    assert anonymous.status_code == 200
    assert anonymous.headers["X-Content-Type-Options"] == "nosniff"
    assert anonymous.headers["Content-Security-Policy"] == (
        "default-src 'none'; frame-ancestors 'none'")
    assert anonymous.headers["X-Frame-Options"] == "DENY"
    assert anonymous.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in anonymous.headers  # plain http locally
    resident = gw.register()
    read = gw.request("GET", f"/api/v1/residents/{resident['nik']}", "officer_a")
    assert read.status_code == 200
    assert read.headers["Cache-Control"] == "no-store"
    # The API docs page loads its scripts from a CDN: the API's CSP would break it.
    assert "Content-Security-Policy" not in gw.request("GET", "/api/v1/docs").headers


def test_https_deployments_send_hsts(app_factory):
    client = app_factory(public_url="https://desa.serangkab.example").test_client()
    assert client.get("/healthz").headers["Strict-Transport-Security"].startswith("max-age=")


def test_cross_origin_calls_only_from_the_allow_list(app_factory, registry_service):
    closed = app_factory().test_client()
    assert "Access-Control-Allow-Origin" not in closed.get(
        "/api/v1/villages", headers={"Origin": ALLOWED}).headers
    client = app_factory(cors_origins=(ALLOWED,)).test_client()
    allowed = client.get("/api/v1/villages", headers={"Origin": ALLOWED})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "X-Request-ID" in allowed.headers["Access-Control-Expose-Headers"]
    preflight = client.options("/api/v1/villages", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "GET"})
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED
    other = client.get("/api/v1/villages", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_public_routes_are_rate_limited_per_address(app_factory, registry_service, gw):
    client = app_factory(public_rate_limit="5/minute").test_client()
    statuses = [client.get("/api/v1/villages").status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    limited = client.get("/api/v1/villages")
    assert limited.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Another address has its own count; another public route too.
    other = client.get("/api/v1/villages", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200
    assert client.get("/api/v1/villages/36.04.07.2001").status_code == 200
    # Health probes poll several times a second while a platform starts: never throttled.
    assert {client.get("/healthz").status_code for _ in range(8)} == {200}
    # Routes behind a login are not throttled by this limit (they have their own guards).
    token = gw.login("officer_a")
    for _ in range(7):
        assert client.get("/api/v1/villages/36.04.07.2001/residents", headers={
            "Authorization": f"Bearer {token}"}).status_code == 200


def test_logins_have_their_own_stricter_rate_limit_per_address(app_factory, registry_service,
                                                               accounts):
    from tests.integration.gateway.conftest import PASSWORD

    client = app_factory(login_rate_limit="3/minute", public_rate_limit="100/minute") \
        .test_client()
    good = {"username": accounts["officer_a"], "password": PASSWORD}
    bad = {**good, "password": "not-the-password"}
    statuses = [client.post("/api/v1/auth/login", json=body).status_code
                for body in (bad, good, bad)]
    assert statuses == [401, 200, 401]
    # The fourth attempt in the minute is refused before any argon2 check, right password or not.
    limited = client.post("/api/v1/auth/login", json=good)
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    other = client.post("/api/v1/auth/login", json=good,
                        environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200
    # Other public routes keep the public limit.
    assert {client.get("/api/v1/villages").status_code for _ in range(5)} == {200}


def test_routes_take_bodies_no_larger_than_they_declare(gw, app_factory):
    from gateway.routes.auth import LOGIN_MAX_BYTES
    from gateway.routes.letters import VERIFY_MAX_BYTES

    document = gw.client.get("/api/v1/openapi.json").get_json()["paths"]
    assert document["/api/v1/auth/login"]["post"]["x-desa-max-body-bytes"] == LOGIN_MAX_BYTES
    assert document["/api/v1/verify"]["post"]["x-desa-max-body-bytes"] == VERIFY_MAX_BYTES

    padded = {"username": "x", "password": "y", "padding": "z" * LOGIN_MAX_BYTES}
    too_big = gw.client.post("/api/v1/auth/login", json=padded)
    assert too_big.status_code == 413
    assert too_big.get_json()["error"]["code"] == "payload_too_large"
    # The same JSON size is fine where no route limit is set (a schema error, not 413).
    roomy = gw.request("POST", f"/api/v1/villages/{VILLAGE_A}/residents", "officer_a",
                       json={"name": "z" * LOGIN_MAX_BYTES})
    assert roomy.status_code == 400
    pdf = b"%PDF-1.4\n" + b"0" * VERIFY_MAX_BYTES
    refused = gw.client.post("/api/v1/verify", data={"file": (io.BytesIO(pdf), "surat.pdf")},
                             content_type="multipart/form-data")
    assert refused.status_code == 413
