"""Service logs are JSON, carry the request id, and never repeat a refusal's message."""
from __future__ import annotations

import io
import json
import logging

import pytest

from services.common.errors import NotFound
from services.common.logs import (
    DomainRefusalFilter,
    RequestIdFilter,
    configure_logging,
    request_id_var,
)


@pytest.fixture
def json_logs():
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("INFO", service="registry", stream=stream)
    yield stream
    root.handlers[:], root.level = saved, level


def test_refusal_logged_by_nameko_loses_its_message(json_logs):
    log = logging.getLogger("nameko.containers")
    token = request_id_var.set("req-123")
    try:
        try:
            raise NotFound("Resident 3604054101909001 not found")
        except NotFound as exc:
            log.exception("error handling worker %s: %s", "<ctx>", exc)
    finally:
        request_id_var.reset(token)
    line = json.loads(json_logs.getvalue().strip().splitlines()[-1])
    assert line["level"] == "INFO"
    assert line["message"] == "request refused: not_found"
    assert line["request_id"] == "req-123" and line["service"] == "registry"
    assert "3604054101909001" not in json.dumps(line)


def test_no_log_line_carries_a_whole_nik_even_in_a_traceback(json_logs):
    log = logging.getLogger("nameko.containers")
    try:
        raise RuntimeError('value "3604054101909001" is out of range; KK 3604051201230009')
    except RuntimeError as exc:
        log.exception("error handling worker %s: %s", "<ctx>", exc)
    line = json.loads(json_logs.getvalue().strip().splitlines()[-1])
    text = json.dumps(line)
    assert "3604054101909001" not in text and "3604051201230009" not in text
    assert "3604********9001" in line["message"] and "3604********0009" in line["exc_info"]
    assert line["level"] == "ERROR" and "RuntimeError" in line["exc_info"]


def test_other_errors_pass_through_untouched():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom %s", ("disk",), None)
    assert DomainRefusalFilter().filter(record) and record.getMessage() == "boom disk"
    assert RequestIdFilter().filter(record) and record.request_id is None


def test_every_extra_field_is_masked_however_it_is_nested(json_logs):
    log = logging.getLogger("services.common.inbox")
    error = ValueError("Key (nik)=(3604054101909001) already exists.")
    log.warning("event handler failed", extra={
        "error": repr(error), "exception": error, "attempt": 1, "nik_number": 3604054101909001,
        "detail": {"family": ["3604051201230009", {"head": "3604054101909001"}]},
        "pair": ("3604054101909001", None)}, stack_info=True)
    line = json.loads(json_logs.getvalue().strip().splitlines()[-1])
    text = json.dumps(line)
    assert "3604054101909001" not in text and "3604051201230009" not in text
    assert line["error"] == "ValueError('Key (nik)=(3604********9001) already exists.')"
    assert line["exception"] == "Key (nik)=(3604********9001) already exists."
    assert line["nik_number"] == "3604********9001" and line["attempt"] == 1
    assert line["detail"] == {"family": ["3604********0009", {"head": "3604********9001"}]}
    assert line["pair"] == ["3604********9001", None]
