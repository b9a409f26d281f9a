"""Liveness and readiness of one service process over HTTP, for Kubernetes probes.

With DESA_HEALTH_PORT set, the runner serves on that port (on the eventlet hub, beside the
service): `/healthz` answers 200 while the service container runs (liveness: restart the process
when it does not), `/readyz` 200 when, in addition, the broker and the service's database answer
within two seconds. Off by default: `make run` starts several processes on one machine.
"""
from __future__ import annotations

import json
import logging

import eventlet
import kombu
import sqlalchemy as sa
from eventlet import wsgi

from services.common.config import Settings

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 2.0


class _QuietLog:
    def write(self, _message: str) -> None:  # eventlet's access log: probes every few seconds
        pass


def container_running(runner) -> bool:
    return bool(runner.containers) and all(
        container.started and not container._died.ready() for container in runner.containers)


def _broker(settings: Settings) -> bool:
    try:
        with kombu.Connection(settings.amqp_uri, connect_timeout=PROBE_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False


def _database(engine: sa.Engine) -> bool:
    try:
        with eventlet.Timeout(PROBE_TIMEOUT_SECONDS), engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except (Exception, eventlet.Timeout):  # noqa: BLE001 - any failure means not ready
        return False


def make_app(runner, service: str, settings: Settings):
    engine = sa.create_engine(settings.database_url(service), poolclass=sa.pool.NullPool,
                              connect_args={"connect_timeout": int(PROBE_TIMEOUT_SECONDS)})

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        checks: dict[str, bool] = {"service": container_running(runner)}
        if path == "/readyz":
            checks.update(broker=_broker(settings), database=_database(engine))
        elif path != "/healthz":
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"status": "not found"}']
        ok = all(checks.values())
        body = json.dumps({"status": "ok" if ok else "unavailable", "service": service,
                           "checks": checks}).encode()
        start_response("200 OK" if ok else "503 Service Unavailable",
                       [("Content-Type", "application/json")])
        return [body]

    return app


def serve(runner, service: str, settings: Settings, port: int):
    """Start the probe server on 0.0.0.0:`port` (a green thread); returns it."""
    sock = eventlet.listen(("0.0.0.0", port))
    log.info("probes listening", extra={"port": port})
    return eventlet.spawn(wsgi.server, sock, make_app(runner, service, settings),
                          log=_QuietLog(), log_output=False)
