"""Fuzzing every route from the API's own OpenAPI document, as every role that can log in.

schemathesis generates valid and invalid requests for each operation (bodies, query strings,
path parameters) and sends them to the running platform as each role (a resident, a village's
officer, secretary, treasurer and head, a regency admin, an operator) and anonymously. Whatever
it sends, the answer must be a documented client error or success, never a 5xx (bad input gets a
clear error, ARCHITECTURE rule 6), and its body must match the response schema the document
declares for that status. A fuzz run found the page-number overflow this now guards against.
"""
from __future__ import annotations

from datetime import date

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from gateway.app import create_app
from gateway.auth import ANONYMOUS, ROLES_EXTENSION
from services.common import roles
from tests.e2e.test_letters_flow import person
from tests.support.fakes import fake_nik

pytestmark = pytest.mark.e2e

VILLAGE = "36.04.05.2004"
SPEC = create_app().test_client().get("/api/v1/openapi.json").get_json()
schema = schemathesis.openapi.from_dict(SPEC)
# Examples per operation and caller allowed to call it: kept small so `make test` stays fast.
MAX_EXAMPLES = 5
# A caller the operation refuses is refused before its input is read (the authorisation matrix
# proves it for every pair): one example checks that refusal's body, the rest are not sent.
_refusals_sent: set[tuple[str, str, str]] = set()


def resident_headers(platform) -> dict[str, str]:
    officer = platform.auth(platform.staff_token("officer", VILLAGE))
    nik = fake_nik(date(1990, 4, 12), "P")
    response = requests.post(platform.api(f"/villages/{VILLAGE}/residents"),
                             json=person(nik, "Uji Acak", "P", "1990-04-12"), headers=officer,
                             timeout=30)
    assert response.status_code == 201, response.text
    pin = requests.post(platform.api(f"/residents/{nik}/pin"), headers=officer, timeout=30)
    assert pin.status_code == 201, pin.text
    return platform.auth(platform.login_pin(nik, pin.json()["pin"]))


@pytest.fixture(scope="module", params=[*roles.LOGINS, ANONYMOUS])
def caller(request, platform) -> tuple[str, dict[str, str]]:
    role = request.param
    if role == ANONYMOUS:
        return role, {}
    if role == roles.RESIDENT:
        return role, resident_headers(platform)
    village = VILLAGE if role in roles.VILLAGE_BOUND else None
    district = VILLAGE.rsplit(".", 1)[0] if role in roles.DISTRICT_BOUND else None
    return role, platform.auth(platform.staff_token(role, village, district))


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_api_answer_5xx_or_off_schema(case, platform, caller):
    role, headers = caller
    declared = case.operation.definition.raw.get(ROLES_EXTENSION, [])
    if role not in declared and ANONYMOUS not in declared:
        refusal = (case.method, case.path, role)
        if refusal in _refusals_sent:
            return
        _refusals_sent.add(refusal)
    response = case.call(base_url=platform.url, headers=headers, timeout=30)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
