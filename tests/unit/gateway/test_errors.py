"""Every failure leaves the gateway as ARCHITECTURE rule 6's body with the status that means it."""
from __future__ import annotations

from dataclasses import replace

import pytest
from nameko.exceptions import RemoteError

from gateway.app import create_app
from gateway.errors import ServiceUnavailable, validation_fields
from services.common.config import Settings
from services.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
    Unprocessable,
    ValidationFailed,
)

RAISED = {
    "validation": ValidationFailed("Bad NIK.", fields={"nik": ["NIK must be 16 digits."]}),
    "unauthenticated": Unauthenticated("Wrong password."),
    "forbidden": Forbidden("Not your village."),
    "not_found": NotFound("No such resident."),
    "conflict": Conflict("NIK already registered."),
    "unprocessable": Unprocessable("CSV has errors; nothing imported",
                                   fields={"rows": [{"line": 3, "field": "nik",
                                                     "message": "bad"}]}),
    "locked": TooManyAttempts("Locked for 15 minutes."),
    "unavailable": ServiceUnavailable("registry did not answer in time."),
    "remote": RemoteError("KeyError", "'nik' secret detail"),
    "bug": ZeroDivisionError("secret detail"),
}


@pytest.fixture
def client():
    app = create_app(replace(Settings(), max_request_bytes=1024))

    def raiser(name: str):
        raise RAISED[name]

    app.add_url_rule("/raise/<name>", view_func=raiser)
    return app.test_client()


@pytest.mark.parametrize("name, status, code", [
    ("validation", 400, "validation_error"),
    ("unauthenticated", 401, "unauthorized"),
    ("forbidden", 403, "forbidden"),
    ("not_found", 404, "not_found"),
    ("conflict", 409, "conflict"),
    ("unprocessable", 422, "unprocessable"),
    ("locked", 429, "too_many_attempts"),
    ("unavailable", 503, "service_unavailable"),
])
def test_service_errors_keep_status_code_message_and_fields(client, name, status, code):
    response = client.get(f"/raise/{name}")
    error = RAISED[name]
    assert response.status_code == status
    body = response.get_json()["error"]
    assert body["code"] == code
    assert body["message"] == error.message
    assert body.get("fields", {}) == error.fields


@pytest.mark.parametrize("name", ["remote", "bug"])
def test_unexpected_errors_are_500_without_details(client, name):
    response = client.get(f"/raise/{name}")
    assert response.status_code == 500
    assert response.get_json() == {"error": {"code": "internal_error",
                                              "message": "An internal error occurred."}}
    assert "secret" not in response.get_data(as_text=True)


def test_unknown_route_is_404_body(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_405_body(client):
    response = client.delete("/api/v1/villages")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_invalid_json_is_400(client):
    response = client.post("/api/v1/auth/login", data='{"username": "a",',
                           content_type="application/json")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert "body" in error["fields"]


def test_schema_errors_are_400_with_fields_not_422(client):
    response = client.post("/api/v1/auth/login", json={"username": "siti", "pin": "12"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"]


def test_wrongly_typed_query_is_400_with_the_field(client):
    response = client.get("/api/v1/villages?page=first")
    assert response.status_code == 400
    assert "page" in response.get_json()["error"]["fields"]


def test_oversized_body_is_413(client):
    response = client.post("/api/v1/auth/login", data="x" * 2048,
                           content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_missing_token_is_401_and_bad_token_too(client):
    assert client.get("/api/v1/residents/3604055208909001").status_code == 401
    response = client.get("/api/v1/residents/3604055208909001",
                          headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_request_id_is_echoed_or_generated(client):
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz")
    assert len(made.headers["X-Request-ID"]) == 32
    # A header that could forge log lines is replaced, not echoed.
    forged = client.get("/healthz", headers={"X-Request-ID": "x\" injected"})
    assert forged.headers["X-Request-ID"] != "x\" injected"
    assert client.get("/nowhere").headers["X-Request-ID"]


def test_validation_fields_flatten_locations():
    assert validation_fields({"json": {"nik": ["bad"]}, "query": {"page": ["bad"]}}) == {
        "nik": ["bad"], "page": ["bad"]}
