"""JSON logs with the request id of the call being served in every line."""
from __future__ import annotations

import contextvars
import logging
import sys

from nameko.extensions import DependencyProvider
from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None)

REQUEST_ID_KEY = "request_id"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str = "INFO", service: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    static = {"service": service} if service else None
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        static_fields=static))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class RequestContext(DependencyProvider):
    """Puts the caller's request id (nameko context data) into the log context of each worker."""

    def worker_setup(self, worker_ctx) -> None:
        request_id_var.set(worker_ctx.data.get(REQUEST_ID_KEY))

    def get_dependency(self, worker_ctx) -> str | None:
        return worker_ctx.data.get(REQUEST_ID_KEY)
