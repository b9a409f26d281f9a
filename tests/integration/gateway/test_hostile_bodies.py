"""Hostile bodies get a clear 4xx in the error format from the gateway under gunicorn.

Before: a JSON body nested 50,000 levels answered 500, and a 12 MB body sent by a client that
closes after the request (HTTP `Connection: close`, as urllib does) saw its connection reset
(broken pipe) instead of a 413.
"""
from __future__ import annotations

import urllib.error
import urllib.request

import requests

from tests.integration.gateway.conftest import VILLAGE_A

MB = 1024 * 1024


def _post_closing(url: str, body: bytes, content_type: str) -> tuple[int, dict]:
    """POST with urllib: `Connection: close`, the whole body written before reading."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, requests.models.complexjson.loads(response.read())
    except urllib.error.HTTPError as answer:
        return answer.code, requests.models.complexjson.loads(answer.read())


def test_deeply_nested_json_is_400(served_gateway):
    # 2,000 levels (4,000 bytes) fits under login's 4 KiB body limit, so the nesting cap, not
    # the size limit, answers there; the register's route also gets 50,000 levels.
    for path, depth in (("/api/v1/auth/login", 2_000),
                        (f"/api/v1/villages/{VILLAGE_A}/residents", 2_000),
                        (f"/api/v1/villages/{VILLAGE_A}/residents", 50_000)):
        body = "[" * depth + "]" * depth
        response = requests.post(served_gateway + path, data=body, timeout=60,
                                 headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_error" and "body" in error["fields"]


def test_twelve_megabytes_is_413_not_a_reset(served_gateway):
    login = served_gateway + "/api/v1/auth/login"
    for content_type in ("application/json", "text/csv"):
        status, body = _post_closing(login, b"x" * 12 * MB, content_type)
        assert status == 413, body
        assert body["error"]["code"] == "payload_too_large"
    # The connection stays usable for a keep-alive client too.
    with requests.Session() as session:
        for _ in range(2):
            response = session.post(login, data=b"x" * 12 * MB, timeout=60,
                                    headers={"Content-Type": "application/json"})
            assert response.status_code == 413
        assert session.get(served_gateway + "/healthz", timeout=10).status_code == 200


def test_json_bodies_have_a_smaller_limit_than_uploads(served_gateway):
    """2 MB of JSON is refused (DESA_MAX_JSON_BYTES, 1 MiB); a 2 MB CSV upload is not."""
    status, body = _post_closing(f"{served_gateway}/api/v1/villages/{VILLAGE_A}/residents",
                                 b'{"name": "' + b"x" * 2 * MB + b'"}', "application/json")
    assert status == 413, body
    status, body = _post_closing(
        f"{served_gateway}/api/v1/villages/{VILLAGE_A}/residents/import",
        b"nik;nama\n" + b"x;y\n" * (MB // 2), "text/csv")
    assert status == 401, body  # past the size check: now it needs a token


def test_an_upload_refused_before_it_is_read_gets_its_answer_not_a_reset(served_gateway):
    """A phone whose token expired sends a 9 MB spreadsheet: it reads the 401 that says so (the
    gateway reads and drops the body it refused), not a broken pipe."""
    for _ in range(3):
        status, body = _post_closing(
            f"{served_gateway}/api/v1/villages/{VILLAGE_A}/residents/import",
            b"nik;nama\n" + b"x;y\n" * (9 * MB // 4), "text/csv")
        assert status == 401, body
        assert body["error"]["code"] == "unauthorized"
