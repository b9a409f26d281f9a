"""Object storage down or hung (issue 7, item 7): calls give up within seconds, and a signed
letter whose PDF cannot be stored is retried with backoff, then parked for an operator, who
lists and retries it with `desa letters`.

Storage is the run's real SeaweedFS behind a TCP forwarder the test takes down or makes hang.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from cli.main import cli
from services.common.config import get_settings
from services.common.errors import StorageUnavailable
from services.common.objectstore import ObjectStoreClient, make_client
from services.letters import domain, models
from services.letters.app import issuing, letters, numbering
from tests.integration.letters.conftest import OUTBOX, actor
from tests.support.tcpproxy import TcpProxy

pytestmark = pytest.mark.integration

FAIL_WITHIN = 15.0  # seconds: connect 2 s / read 5 s, one retry, on a loaded machine


@pytest.fixture
def proxy(store):
    host, port = get_settings().s3_endpoint.rsplit(":", 1)
    forwarder = TcpProxy(host, int(port))
    yield forwarder
    forwarder.close()


@pytest.fixture
def proxied_store(proxy) -> ObjectStoreClient:
    settings = replace(get_settings(), s3_endpoint=proxy.endpoint)
    return ObjectStoreClient(make_client(settings), settings.documents_bucket)


def timed(call, limit: float = 60.0):
    """(exception or result, seconds); fails if the call has not returned within `limit`
    (the minio SDK's defaults waited five minutes per attempt)."""
    outcome: dict = {}

    def run() -> None:
        started = time.monotonic()
        try:
            outcome["value"] = call()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome["value"] = exc
        outcome["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit)
    assert "seconds" in outcome, f"the call still hangs after {limit} s"
    return outcome["value"], outcome["seconds"]


@pytest.mark.parametrize("failure", ["down", "hang"])
def test_storage_down_or_hung_fails_within_seconds(proxied_store, proxy, failure):
    key = f"test/letters/probe/{uuid.uuid4()}"
    proxied_store.put_bytes(key, b"%PDF-1.4 probe", "application/pdf")  # up: works
    getattr(proxy, failure)()
    calls = [lambda: proxied_store.put_bytes(key, b"x", "application/pdf"),
             lambda: proxied_store.stream(key)]  # opened before a response starts
    if failure == "down":
        calls.append(lambda: proxied_store.get_bytes(key))
    for call in calls:
        error, seconds = timed(call)
        assert isinstance(error, StorageUnavailable), error
        assert seconds < FAIL_WITHIN
    proxy.up()
    assert proxied_store.get_bytes(key) == b"%PDF-1.4 probe"


def test_a_failing_pdf_step_backs_off_then_parks_and_an_operator_retries(
        world, proxied_store, proxy):
    code = world.village()["code"]
    letter_id = world.checked(code, world.resident(code)["nik"])["id"]
    world.do(numbering.sign_letter, OUTBOX, letter_id, code, actor("head", code))
    proxy.down()

    moment = datetime.now(UTC) + timedelta(seconds=30)  # past the first pass's grace period
    delays = []
    for attempt in range(1, domain.ISSUE_MAX_ATTEMPTS + 1):
        assert letter_id in world.do(issuing.signed_not_issued, timedelta(seconds=20), 1000,
                                     moment)
        with pytest.raises(StorageUnavailable):
            world.do(issuing.issue_letter, OUTBOX, proxied_store, world.key, letter_id)
        state = world.do(issuing.record_issue_failure, letter_id, "StorageUnavailable: down",
                         moment)
        assert state["attempts"] == attempt
        if attempt < domain.ISSUE_MAX_ATTEMPTS:
            due = datetime.fromisoformat(state["next_attempt_at"])
            delays.append(due - moment)
            # Not tried again before its time (it used to be every 15 s, forever).
            assert letter_id not in world.do(issuing.signed_not_issued, timedelta(seconds=20),
                                             1000, due - timedelta(seconds=1))
            moment = due
    assert delays == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2),
                      timedelta(minutes=4), timedelta(minutes=8), timedelta(minutes=16),
                      timedelta(minutes=30)]
    assert state["parked_at"] is not None and state["next_attempt_at"] is None
    assert letter_id not in world.do(issuing.signed_not_issued, timedelta(seconds=20), 1000,
                                     moment + timedelta(days=30))
    view = world.do(letters.get_letter, letter_id, code, actor("officer", code))
    assert view["status"] == "signed"
    assert view["issuing"] == {"attempts": domain.ISSUE_MAX_ATTEMPTS, "next_attempt_at": None,
                               "parked": True}

    # The operator sees it (and no personal data), fixes storage and retries from the CLI.
    runner = CliRunner()
    listed = runner.invoke(cli, ["letters", "parked", "--village", code, "--json"])
    assert listed.exit_code == 1 and letter_id in listed.output
    assert "Siti" not in listed.output  # holder data stays out of the operator's list
    proxy.up()
    retried = runner.invoke(cli, ["letters", "retry", letter_id])
    assert retried.exit_code == 0, retried.output
    assert f"{letter_id}\tissued" in retried.output
    row = world.session.get(models.Letter, uuid.UUID(letter_id))
    world.session.refresh(row)
    assert row.status == "issued" and row.pdf_key and row.issue_parked_at is None
    assert runner.invoke(cli, ["letters", "parked", "--village", code]).exit_code == 0


def test_a_retry_that_fails_again_starts_a_fresh_round(world, proxy):
    code = world.village()["code"]
    letter_id = world.checked(code, world.resident(code)["nik"])["id"]
    world.do(numbering.sign_letter, OUTBOX, letter_id, code, actor("head", code))
    for _ in range(domain.ISSUE_MAX_ATTEMPTS):
        world.do(issuing.record_issue_failure, letter_id, "StorageUnavailable: down")
    proxy.down()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESA_S3_ENDPOINT", proxy.endpoint)
        from services.common.config import reset_settings
        reset_settings()
        try:
            result = CliRunner().invoke(cli, ["letters", "retry", letter_id])
        finally:
            patch.undo()
            reset_settings()
    assert result.exit_code == 1 and "failed again" in result.output
    state = world.do(issuing.issue_state_of, letter_id)
    assert state["attempts"] == 1 and state["parked_at"] is None
    assert state["next_attempt_at"] is not None
