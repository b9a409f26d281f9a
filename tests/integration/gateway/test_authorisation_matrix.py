"""The authorisation matrix, generated from the OpenAPI document.

Every operation declares who may call it (`x-desa-roles`: the roles of `@requires`, or
`anonymous` for `@public`). This test calls EVERY operation of the document as every role that
can log in, from the village in the path and from another village, and without a token, against
the real services, and expects exactly the declared outcome:

- no token: 401, unless the operation is public;
- a role the operation does not declare: 403;
- a declared role of the path's village (or a regency-wide one): never 401 or 403;
- a declared village-bound role of ANOTHER village on a village's path: 403 or 404 (and a
  district admin of ANOTHER district on a village's or a district's path);
- nobody, ever, a 5xx.

Ids in paths are random (no such letter or payment request): the rules above hold before any
lookup. A route added to the gateway without a declaration fails `test_every_route_declares`.
"""
from __future__ import annotations

import re
import uuid

import pytest

from gateway.auth import ANONYMOUS, ROLES_EXTENSION, issue_token
from services.common import roles
from services.common.config import get_settings
from tests.integration.gateway.conftest import (
    DISTRICT_A,
    DISTRICT_B,
    VILLAGE_A,
    VILLAGE_B,
    fake_family_number,
    fake_nik,
)

pytestmark = pytest.mark.integration

METHODS = ("get", "post", "put", "patch", "delete")
REGENCY_WIDE = tuple(role for role in roles.LOGINS if role not in roles.VILLAGE_BOUND)


def _caller_token(role: str, village: str | None, nik: str | None,
                  district: str | None = None) -> str:
    token, _ = issue_token({"subject": f"matrix-{role}-{village or district}", "role": role,
                            "village_code": village, "nik": nik, "district_code": district,
                            "username": None if role == roles.RESIDENT else f"matrix.{role}"},
                           get_settings())
    return token


class Caller:
    def __init__(self, role: str | None, village: str | None, district: str | None = None):
        self.role, self.village, self.district = role, village, district
        self.nik = fake_nik()[0] if role == roles.RESIDENT else None
        self.token = _caller_token(role, village, self.nik, district) if role else None

    def __repr__(self) -> str:
        return f"{self.role or ANONYMOUS}@{self.village or self.district or 'regency'}"


def _callers() -> list[Caller]:
    callers = [Caller(None, None)]
    for role in roles.LOGINS:
        if role in roles.VILLAGE_BOUND:
            callers += [Caller(role, VILLAGE_A), Caller(role, VILLAGE_B)]
        elif role in roles.DISTRICT_BOUND:
            callers += [Caller(role, None, DISTRICT_A), Caller(role, None, DISTRICT_B)]
        else:
            callers.append(Caller(role, None))
    return callers


def _fill(path: str, caller: Caller, other_nik: str) -> str:
    """The path with realistic values: village A's code, the resident's own NIK (so a resident
    is not refused for asking about someone else), random ids that exist nowhere."""
    values = {"code": VILLAGE_A, "district": DISTRICT_A, "year": "2025", "period": "2025-01",
              "token": "not-a-token", "type_code": "SKD", "number": fake_family_number(),
              "nik": caller.nik or other_nik}
    return re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), str(uuid.uuid4())), path)


@pytest.fixture(scope="module")
def document(app_factory_module):
    client = app_factory_module().test_client()
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture(scope="module")
def app_factory_module(migrated):
    from gateway.app import create_app

    apps = []

    def make():
        apps.append(create_app())
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["desa"]["rpc"].close_all()


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [(method, path, operation) for path, item in document["paths"].items()
            for method, operation in item.items() if method in METHODS]


def test_every_route_declares_who_may_call_it(document, app_factory_module):
    operations = _operations(document)
    undeclared = [f"{method.upper()} {path}" for method, path, operation in operations
                  if not operation.get(ROLES_EXTENSION)]
    assert undeclared == [], "declare roles with @requires(...) or @public"
    unknown = {role for _, _, operation in operations
               for role in operation[ROLES_EXTENSION]} - {*roles.LOGINS, ANONYMOUS}
    assert unknown == set()
    # A route the document does not describe would escape the matrix.
    documented = {(method.upper(), path) for method, path, _ in operations}
    app = app_factory_module()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/api/v1/openapi") or (
                rule.rule.startswith(("/api/v1/docs", "/api/v1/redoc"))):
            continue
        if not rule.rule.startswith(("/api/", "/healthz", "/readyz", "/statusz")):
            continue  # web pages are not API operations
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, f"{method} {path} is not in the OpenAPI document"


def _expected(declared: list[str], caller: Caller, path: str) -> str:
    if ANONYMOUS in declared:
        return "allowed"
    if caller.role is None:
        return "401"
    if caller.role not in declared:
        return "403"
    if caller.role in roles.VILLAGE_BOUND and caller.village != VILLAGE_A and "{code}" in path:
        return "other-village"
    if (caller.role in roles.DISTRICT_BOUND and caller.district != DISTRICT_A
            and ("{code}" in path or "{district}" in path)):
        return "other-village"
    return "allowed"


def test_every_operation_answers_every_caller_as_declared(document, running_services,
                                                         app_factory_module):
    client = app_factory_module().test_client()
    other_nik = fake_nik()[0]
    wrong = []
    calls = 0
    for method, path, operation in _operations(document):
        declared = operation[ROLES_EXTENSION]
        for caller in _callers():
            url = _fill(path, caller, other_nik)
            headers = {"Authorization": f"Bearer {caller.token}"} if caller.token else {}
            kwargs = {"json": {}} if method in ("post", "put", "patch") else {}
            status = client.open(url, method=method.upper(), headers=headers,
                                 **kwargs).status_code
            calls += 1
            expected = _expected(declared, caller, path)
            ok = status < 500 and {
                "401": status == 401,
                "403": status == 403,
                "other-village": status in (403, 404),
                "allowed": status not in (401, 403),
            }[expected]
            if not ok:
                wrong.append(f"{method.upper()} {path} as {caller!r}: {status}, "
                             f"expected {expected}")
    assert wrong == [], "\n".join(wrong)
    assert calls >= len(_operations(document)) * len(_callers())
