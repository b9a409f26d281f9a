"""Probes and the OpenAPI document."""
from __future__ import annotations

import time

from services.common.objectstore import documents_store

ISSUE_PATHS = {
    "/api/v1/auth/login": {"post"},
    "/api/v1/villages": {"get"},
    "/api/v1/villages/{code}": {"get", "patch"},
    "/api/v1/villages/{code}/residents": {"get", "post"},
    "/api/v1/villages/{code}/residents/import": {"post"},
    "/api/v1/villages/{code}/residents/imports/{job_id}": {"get"},
    "/api/v1/residents/{nik}": {"get", "patch"},
    "/api/v1/residents/{nik}/history": {"get"},
    "/api/v1/residents/{nik}/events": {"post"},
    "/api/v1/residents/{nik}/pin": {"post"},
    "/api/v1/villages/{code}/families": {"post"},
    "/api/v1/families/{number}": {"get"},
}


def test_openapi_document_has_every_path_and_the_schemas(app_factory):
    client = app_factory().test_client()
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    for path, methods in ISSUE_PATHS.items():
        assert path in spec["paths"], path
        assert methods <= set(spec["paths"][path]), path
    schemas = spec["components"]["schemas"]
    assert {"Resident", "ResidentInput", "Village", "Family", "Error"} <= set(schemas)
    assert spec["paths"]["/api/v1/residents/{nik}"]["get"]["security"] == [{"bearerAuth": []}]
    # A public operation says so: no security requirement, and `anonymous` among its roles.
    assert spec["paths"]["/api/v1/villages"]["get"].get("security", []) == []
    assert spec["paths"]["/api/v1/villages"]["get"]["x-desa-roles"] == ["anonymous"]
    assert spec["paths"]["/api/v1/residents/{nik}"]["get"]["x-desa-roles"] == [
        "resident", "officer", "secretary", "head", "regency_admin"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger" in docs.data.lower()


def test_healthz_needs_nothing(app_factory):
    response = app_factory(amqp_uri="amqp://guest:guest@127.0.0.1:1/").test_client().get(
        "/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_statusz_and_readyz_are_200_when_everything_answers(running_services, app_factory):
    documents_store().ensure_bucket()  # made by `make run`; no registry code needs it yet
    client = app_factory().test_client()
    response = client.get("/statusz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["broker"]["ok"] and body["checks"]["object_storage"]["ok"]
    assert body["checks"]["registry"] == {"ok": True, "database": "ok"}
    assert client.get("/readyz").status_code == 200


def test_readyz_stays_200_when_a_service_is_down_and_statusz_names_it(migrated, app_factory):
    """One stopped service must not take every gateway pod out of service (issue 7, item 6):
    readiness is the gateway and the broker; which service is down is the status page's."""
    # No service container is running in this test.
    client = app_factory().test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json() == {"status": "ok", "checks": {"broker": {"ok": True}}}
    status = client.get("/statusz")
    body = status.get_json()
    assert status.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["registry"]["ok"] is False
    assert body["checks"]["broker"]["ok"] is True


def test_readyz_is_503_when_the_broker_is_unreachable(migrated, app_factory):
    client = app_factory(amqp_uri="amqp://guest:guest@127.0.0.1:1/").test_client()
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["checks"]["broker"]["ok"] is False
    status = client.get("/statusz").get_json()
    assert status["checks"]["registry"]["ok"] is False


def test_object_storage_down_is_in_statusz_not_readyz(registry_service, app_factory):
    client = app_factory(documents_bucket="no-such-bucket-here").test_client()
    assert client.get("/readyz").status_code == 200
    response = client.get("/statusz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["checks"]["object_storage"]["ok"] is False
    assert body["checks"]["registry"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


def test_calls_to_a_stopped_service_are_503(migrated, app_factory):
    # Nobody consumes its queue: the call is not sent, 503 at once (test_rpc_deadlines.py).
    response = app_factory(rpc_timeout_seconds=1).test_client().get("/api/v1/villages")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "service_unavailable"


def test_calls_with_the_broker_unreachable_are_503(migrated, app_factory):
    client = app_factory(amqp_uri="amqp://guest:guest@127.0.0.1:1/").test_client()
    started = time.monotonic()
    response = client.get("/api/v1/villages")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "service_unavailable"
    assert time.monotonic() - started < 15
