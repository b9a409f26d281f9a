"""Fuzzing every route from the API's own OpenAPI document: no input makes the gateway fail.

schemathesis generates valid and invalid requests for each operation (bodies, query strings,
path parameters) and sends them to the running platform as an officer and as the head of a
village. Whatever it sends, the answer must be a documented client error or success, never a
5xx: bad input gets a clear error (ARCHITECTURE rule 6). A fuzz run found the page-number
overflow this now guards against.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from gateway.app import create_app

VILLAGE = "36.04.05.2004"
SPEC = create_app().test_client().get("/api/v1/openapi.json").get_json()
schema = schemathesis.openapi.from_dict(SPEC)


@pytest.fixture(scope="module", params=["officer", "head"])
def staff_headers(request, platform) -> dict[str, str]:
    return platform.auth(platform.staff_token(request.param, VILLAGE))


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_api_answer_5xx(case, platform, staff_headers):
    response = case.call(base_url=platform.url, headers=staff_headers, timeout=30)
    case.validate_response(response, checks=[not_a_server_error])
