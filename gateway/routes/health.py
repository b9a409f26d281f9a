"""Liveness (`/healthz`), readiness (`/readyz`) and the operators' status (`/statusz`).

Readiness is what takes a gateway pod out of service, so it reflects only what every request
needs: this process and the broker. A stopped service or object storage makes the calls that
need it answer 503 (at once, with Retry-After), not every route of every pod: login, registry
and `/verify` keep working while letters is down, and letters while registry is. Which
dependency is down is `/statusz`: every service with its database, and object storage.
"""
from __future__ import annotations

import logging

import kombu
import urllib3
from flask_smorest import Blueprint
from minio import Minio
from nameko.exceptions import RemoteError

from gateway.auth import public
from gateway.http import app_settings, respond
from gateway.rpc import services
from gateway.schemas import HealthSchema
from services.common.config import Settings
from services.common.errors import DesaError
from services.common.topology import service_classes

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, description="Probes for process managers and Kubernetes.")

# A probe must answer quickly even when a dependency hangs.
PROBE_TIMEOUT_SECONDS = 2.0


@blp.route("/healthz", methods=["GET"])
@public
@blp.response(200, HealthSchema)
def healthz():
    return respond({"status": "ok", "checks": {}})


def _check_broker(settings: Settings) -> dict:
    try:
        with kombu.Connection(settings.amqp_uri, connect_timeout=PROBE_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1)
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return {"ok": False, "error": type(exc).__name__}


def _check_service(name: str) -> dict:
    try:
        answer = services(timeout=PROBE_TIMEOUT_SECONDS)[name].ping()
    except DesaError as exc:
        return {"ok": False, "error": exc.message}
    except RemoteError as exc:
        return {"ok": False, "error": exc.exc_type}
    database = answer.get("database") if isinstance(answer, dict) else None
    return {"ok": database == "ok", "database": database}


def _check_object_storage(settings: Settings) -> dict:
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=PROBE_TIMEOUT_SECONDS, read=PROBE_TIMEOUT_SECONDS),
        retries=urllib3.Retry(total=0))
    client = Minio(settings.s3_endpoint, access_key=settings.s3_access_key,
                   secret_key=settings.s3_secret_key, secure=settings.s3_secure,
                   region=settings.s3_region, http_client=http)
    try:
        if client.bucket_exists(settings.documents_bucket):
            return {"ok": True, "bucket": settings.documents_bucket}
        return {"ok": False, "error": "bucket missing", "bucket": settings.documents_bucket}
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return {"ok": False, "error": type(exc).__name__}
    finally:
        http.clear()


@blp.route("/readyz", methods=["GET"])
@public
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The broker is not reachable.")
def readyz():
    """Ready to serve: this process answers and the broker is reachable (the probe)."""
    checks = {"broker": _check_broker(app_settings())}
    return _answer(checks)


@blp.route("/statusz", methods=["GET"])
@public
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="A dependency is not ready.")
def statusz():
    """For operators: broker, every service's ping() with its database, the documents bucket.

    Not a probe: one stopped service makes it 503 while the gateway serves everything else.
    """
    settings = app_settings()
    checks = {"broker": _check_broker(settings)}
    for cls in service_classes():
        if checks["broker"]["ok"]:
            checks[cls.name] = _check_service(cls.name)
        else:
            checks[cls.name] = {"ok": False, "error": "broker unreachable"}
    checks["object_storage"] = _check_object_storage(settings)
    return _answer(checks)


def _answer(checks: dict):
    ready = all(check["ok"] for check in checks.values())
    if not ready:
        log.warning("not ready", extra={"failed": [k for k, v in checks.items() if not v["ok"]]})
    return respond({"status": "ok" if ready else "unavailable", "checks": checks},
                   200 if ready else 503)
