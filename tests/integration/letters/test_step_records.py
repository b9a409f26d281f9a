"""What each workflow step writes with the letter's change: its transition, its audit row and its
event, in the step's transaction (sent as one statement), and the letter's view in that event
(its attachments: read with the locked letter when it has none)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.common import audit, tables
from services.common.errors import Conflict
from services.letters import models
from services.letters.app import numbering, requests
from tests.integration.letters.conftest import OUTBOX, actor
from tests.integration.letters.test_attachments import upload
from tests.unit.letters.samples import PDF_HEAD

pytestmark = pytest.mark.integration

STATUSES = ["submitted", "checked", "signed", "issued"]


def _payloads(world, letter_id: str) -> list[dict]:
    return [envelope["payload"] for envelope in world.session.scalars(
        sa.select(tables.outbox.c.envelope).where(tables.outbox.c.aggregate_id == letter_id)
        .order_by(tables.outbox.c.id))]


def _through_issue(world, code: str, letter_id: str) -> None:
    world.do(requests.change_status, OUTBOX, letter_id, "check", code, actor("officer", code))
    world.sign_and_issue(code, letter_id)


def test_every_step_writes_its_transition_audit_row_and_event(world):
    code = world.village()["code"]
    nik = world.resident(code)["nik"]
    letter = world.request(code, nik)
    _through_issue(world, code, letter["id"])

    transitions = world.session.scalars(
        sa.select(models.LetterTransition).where(models.LetterTransition.letter_id == letter["id"])
        .order_by(models.LetterTransition.id)).all()
    assert [(t.from_status, t.to_status) for t in transitions] == list(
        zip([None, *STATUSES[:-1]], STATUSES, strict=True))
    assert [t.actor["role"] for t in transitions] == ["officer", "officer", "head", "system"]
    rows = world.session.execute(
        sa.select(tables.audit_log).where(tables.audit_log.c.subject_nik == nik)
        .order_by(tables.audit_log.c.id)).mappings().all()
    assert [(r["action"], r["purpose"], r["actor_role"], r["village_code"]) for r in rows] == [
        (audit.CHANGE, f"letter.{status}", role, code)
        for status, role in zip(STATUSES, ["officer", "officer", "head", "system"], strict=True)]
    assert [p["status"] for p in _payloads(world, letter["id"])] == STATUSES


def test_a_refused_step_writes_none_of_them(world):
    code = world.village()["code"]
    letter = world.request(code, world.resident(code)["nik"])
    before = [world.count(table) for table in (tables.outbox, tables.audit_log)]
    with pytest.raises(Conflict):  # not checked yet
        world.do(numbering.sign_letter, OUTBOX, letter["id"], code, actor("head", code))
    assert [world.count(table) for table in (tables.outbox, tables.audit_log)] == before


def test_the_view_of_every_step_carries_the_letters_attachments(world):
    code = world.village()["code"]
    nik = world.resident(code)["nik"]
    with_one, without = world.request(code, nik), world.request(code, nik)
    _, record = upload(world, with_one["id"], code, PDF_HEAD + b"0" * 100)
    attached = record()["attachments"]
    assert len(attached) == 1
    for letter in (with_one, without):
        _through_issue(world, code, letter["id"])

    # requested, attachment added, checked, signed, issued
    assert [p["attachments"] for p in _payloads(world, with_one["id"])] == [[]] + [attached] * 4
    assert [p["attachments"] for p in _payloads(world, without["id"])] == [[]] * 4
    assert [p["missing_documents"] for p in _payloads(world, without["id"])] == [
        ["ktp", "kk", "cover_letter"]] * 4
