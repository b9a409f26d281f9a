"""JSON logs with the request id of the call being served in every line."""
from __future__ import annotations

import contextvars
import logging
import re
import sys
from typing import Any

from nameko.extensions import DependencyProvider
from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None)

REQUEST_ID_KEY = "request_id"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class DomainRefusalFilter(logging.Filter):
    """Logs a service's expected refusals (not found, conflict, bad input) as one quiet line.

    nameko logs every exception an entrypoint raises, with its message, at ERROR; a refusal is not
    a server fault, and its message may quote protected input such as a NIK (UU 27/2022).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from services.common.errors import DesaError

        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, DesaError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args, record.exc_info, record.exc_text = (
                "request refused: %s", (exc.code,), None, None)
        elif record.args and any(isinstance(arg, DesaError) for arg in record.args):
            refusal = next(arg for arg in record.args if isinstance(arg, DesaError))
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "request refused: %s", (refusal.code,)
        return True


NIK_LIKE = re.compile(r"(?<!\d)(\d{4})\d{8}(\d{4})(?!\d)")
_PLAIN = logging.Formatter()
# Attributes every LogRecord has; anything else on a record came in through `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime"}


def mask_personal_numbers(text: str) -> str:
    """"3604054101909001" -> "3604********9001": NIK and No. KK are both 16 digits."""
    return NIK_LIKE.sub(r"\1********\2", text)


def mask_value(value: Any) -> Any:
    """`value` with every NIK-like number masked, however deep; values without one unchanged.

    Strings are masked in place, containers item by item; anything else (an exception, a
    number) is masked as the text the JSON formatter would write for it.
    """
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, str):
        return mask_personal_numbers(value)
    if isinstance(value, dict):
        return {mask_value(key): mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_value(item) for item in value]
    text = str(value)
    masked = mask_personal_numbers(text)
    return value if masked == text else masked


class PersonalDataFilter(logging.Filter):
    """The last guard: no log line carries a whole NIK or No. KK, whoever wrote it.

    Database errors quote the values they choke on (`Key (nik)=(...)`), nameko logs unexpected
    errors with their message and traceback, and handlers log `repr(exc)` as an extra field:
    the message, every extra field, the traceback and the stack are all masked here.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_numbers(message)
        if masked != message:
            record.msg, record.args = masked, ()
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES:
                setattr(record, name, mask_value(value))
        if record.exc_info:
            record.exc_text = mask_personal_numbers(_PLAIN.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = mask_personal_numbers(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_numbers(record.stack_info)
        return True


def configure_logging(level: str = "INFO", service: str | None = None, stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    static = {"service": service} if service else None
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        static_fields=static))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(DomainRefusalFilter())
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class RequestContext(DependencyProvider):
    """Puts the caller's request id (nameko context data) into the log context of each worker."""

    def worker_setup(self, worker_ctx) -> None:
        request_id_var.set(worker_ctx.data.get(REQUEST_ID_KEY))

    def get_dependency(self, worker_ctx) -> str | None:
        return worker_ctx.data.get(REQUEST_ID_KEY)
