"""Letter documents through the gateway (issue 7, items 7, 9 and 12), in front of the real
registry and letters services; object storage is the run's SeaweedFS behind a TCP forwarder
that a test takes down or makes hang.
"""
from __future__ import annotations

import hashlib
import io
import time
import uuid

import pytest

from services.common.config import get_settings, reset_settings
from services.common.objectstore import documents_store
from services.letters import tokens
from services.letters.app import attachments, issuing
from tests.integration.gateway.conftest import VILLAGE_A, VILLAGE_B, Gateway
from tests.integration.letters.conftest import OUTBOX, LettersWorld, actor
from tests.support.tcpproxy import TcpProxy
from tests.unit.letters.samples import png_bytes

pytestmark = pytest.mark.integration

FAIL_WITHIN = 15.0


@pytest.fixture
def proxy(migrated):
    host, port = get_settings().s3_endpoint.rsplit(":", 1)
    forwarder = TcpProxy(host, int(port))
    yield forwarder
    forwarder.close()


@pytest.fixture
def world(letters_engine):
    store = documents_store()
    store.ensure_bucket()
    letters = LettersWorld(letters_engine, store, tokens.load_signing_key(
        get_settings().letter_signing_key))
    letters.village(code=VILLAGE_A)
    letters.village(code=VILLAGE_B)
    yield letters
    letters.session.close()


@pytest.fixture
def letters_service(container_factory, nameko_config, proxy, monkeypatch):
    """The real letters service, its object storage reached through the forwarder."""
    from services.letters.service import LettersService

    monkeypatch.setenv("DESA_S3_ENDPOINT", proxy.endpoint)
    reset_settings()
    try:
        container = container_factory(LettersService, nameko_config)
        container.start()
    finally:
        monkeypatch.undo()
        reset_settings()
    return container


@pytest.fixture
def gw_down(registry_service, letters_service, app_factory, accounts, proxy) -> Gateway:
    """A gateway whose object storage is behind the forwarder."""
    return Gateway(app_factory(s3_endpoint=proxy.endpoint).test_client(), accounts)


def issued_letter(world: LettersWorld) -> dict:
    nik = world.resident(VILLAGE_A)["nik"]
    letter = world.checked(VILLAGE_A, nik)
    return world.sign_and_issue(VILLAGE_A, letter["id"])


def test_the_regency_admin_downloads_an_issued_letter_without_collecting_it(
        gw, world, letters_service):
    letter = issued_letter(world)
    path = f"/api/v1/letters/{letter['id']}/pdf"
    by_admin = gw.request("GET", path, "admin")
    assert by_admin.status_code == 200, by_admin.get_json()  # was 403 on the first download
    assert by_admin.data.startswith(b"%PDF")
    assert hashlib.sha256(by_admin.data).hexdigest() == by_admin.headers["X-Content-SHA256"]
    assert gw.request("GET", f"/api/v1/letters/{letter['id']}", "admin").get_json()[
        "status"] == "issued"  # oversight is not collection
    assert gw.request("GET", path, "officer_a").status_code == 200
    assert gw.request("GET", f"/api/v1/letters/{letter['id']}", "admin").get_json()[
        "status"] == "downloaded"
    assert gw.request("GET", path, "officer_b").status_code == 404
    assert gw.request("GET", path, "operator").status_code == 403


def test_officers_open_the_documents_a_resident_sent(gw, world, letters_service):
    resident = world.resident(VILLAGE_A)
    letter = world.request(VILLAGE_A, resident["nik"])
    scan = png_bytes()
    target = world.do(attachments.attachment_key, letter["id"], VILLAGE_A,
                      actor("resident", VILLAGE_A, resident["nik"]))
    world.store.put_bytes(target["key"], scan, "image/png")
    sent = world.do(attachments.record_attachment, OUTBOX, world.store, letter["id"],
                    {"key": target["key"], "kind": "ktp", "filename": 'ktp"; x=.png'},
                    VILLAGE_A, actor("resident", VILLAGE_A, resident["nik"]))
    attachment_id = sent["attachments"][0]["id"]
    path = f"/api/v1/letters/{letter['id']}/attachments/{attachment_id}"

    for who in ("officer_a", "head_a", "admin"):
        response = gw.request("GET", path, who)
        assert response.status_code == 200, (who, response.get_json())
        assert response.data == scan and response.mimetype == "image/png"
        assert response.headers["X-Content-SHA256"] == hashlib.sha256(scan).hexdigest()
        assert response.headers["Content-Disposition"] == \
            f'attachment; filename="ktp-{attachment_id[:8]}.png"'
    assert gw.request("GET", path, "officer_b").status_code == 404  # another village
    assert gw.request("GET", path, "operator").status_code == 403
    assert gw.request("GET", path, None).status_code == 401
    other = world.request(VILLAGE_A, resident["nik"])
    assert gw.request("GET", f"/api/v1/letters/{other['id']}/attachments/{attachment_id}",
                      "officer_a").status_code == 404  # not that letter's document
    assert gw.request("GET", f"/api/v1/letters/{letter['id']}/attachments/{uuid.uuid4()}",
                      "officer_a").status_code == 404
    assert gw.request("GET", f"/api/v1/letters/{letter['id']}/attachments/nonsense",
                      "officer_a").status_code == 404


@pytest.mark.parametrize("failure", ["down", "hang"])
def test_storage_down_answers_503_within_seconds(gw_down, world, proxy, failure):
    letter = issued_letter(world)
    resident = world.resident(VILLAGE_A)
    request = world.request(VILLAGE_A, resident["nik"])
    getattr(proxy, failure)()

    started = time.monotonic()
    download = gw_down.request("GET", f"/api/v1/letters/{letter['id']}/pdf", "officer_a")
    assert time.monotonic() - started < FAIL_WITHIN
    assert download.status_code == 503
    assert download.get_json()["error"]["code"] == "service_unavailable"

    started = time.monotonic()
    upload = gw_down.request("POST", f"/api/v1/letters/{request['id']}/attachments",
                             "officer_a", data={"kind": "ktp",
                                                "file": (io.BytesIO(png_bytes()), "ktp.png")})
    assert time.monotonic() - started < FAIL_WITHIN
    assert upload.status_code == 503, upload.get_json()
    assert upload.get_json()["error"]["code"] == "service_unavailable"


def test_a_signing_while_storage_is_down_waits_then_an_operator_issues_it(
        gw_down, world, proxy):
    resident = world.resident(VILLAGE_A)
    letter = world.checked(VILLAGE_A, resident["nik"])
    proxy.down()
    started = time.monotonic()
    signed = gw_down.request("POST", f"/api/v1/letters/{letter['id']}/sign", "head_a", json={})
    assert time.monotonic() - started < FAIL_WITHIN
    assert signed.status_code == 200, signed.get_json()
    body = signed.get_json()
    assert body["status"] == "signed" and body["number"]
    assert body["issuing"]["attempts"] == 1 and body["issuing"]["parked"] is False
    assert body["issuing"]["next_attempt_at"] is not None  # backoff, not every 15 s

    for _ in range(7):  # as if the service had kept failing for an hour
        world.do(issuing.record_issue_failure, letter["id"], "StorageUnavailable: down")
    parked = gw_down.request("GET", "/api/v1/letters/parked", "operator")
    assert parked.status_code == 200
    mine = [row for row in parked.get_json() if row["id"] == letter["id"]]
    assert mine and mine[0]["attempts"] == 8 and mine[0]["parked_at"]
    assert "subject_nik" not in mine[0] and "subject_name" not in mine[0]
    assert letter["id"] in [row["id"] for row in gw_down.request(
        "GET", "/api/v1/letters/parked", "officer_a").get_json()]
    assert letter["id"] not in [row["id"] for row in gw_down.request(
        "GET", "/api/v1/letters/parked", "officer_b").get_json()]
    assert gw_down.request("GET", f"/api/v1/letters/parked?village={VILLAGE_A}",
                           "officer_b").status_code == 403  # not an empty list
    assert letter["id"] in [row["id"] for row in gw_down.request(
        "GET", f"/api/v1/letters/parked?village={VILLAGE_A}", "officer_a").get_json()]
    assert gw_down.request("POST", f"/api/v1/letters/{letter['id']}/issue",
                           "officer_b").status_code == 404

    proxy.up()
    retried = gw_down.request("POST", f"/api/v1/letters/{letter['id']}/issue", "operator")
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "issued" and retried.get_json()["parked_at"] is None
    assert gw_down.request("POST", f"/api/v1/letters/{letter['id']}/issue",
                           "operator").status_code == 409  # issued: nothing to retry
    pdf = gw_down.request("GET", f"/api/v1/letters/{letter['id']}/pdf", "officer_a")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
