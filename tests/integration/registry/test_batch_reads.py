"""`get_residents`: several callers' resident reads in one call (the gateway's collapsed reads,
decision 0101), each answered and logged exactly as `get_resident` would answer and log it."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from services.common import batch
from services.common.errors import DeadlineExceeded, NotFound, ValidationFailed
from tests.integration.registry.support import OFFICER, person
from tests.integration.registry.test_reads import CLERK, OTHER_VILLAGE, VILLAGE, reads_of

pytestmark = pytest.mark.integration

STRANGER = {**CLERK, "village_code": OTHER_VILLAGE, "username": "batch.stranger"}
ADMIN = {"role": "regency_admin", "village_code": None, "username": "batch.admin", "nik": None}


def _item(nik, scope, actor, request_id="req-batch", **extra) -> dict:
    return {"nik": nik, "scope": scope, "actor": actor, "request_id": request_id,
            "deadline": time.time() + 30, **extra}


def _outcomes(answers: list) -> list:
    """Each answer's record, or the type of its error."""
    outcomes = []
    for answer in answers:
        try:
            outcomes.append(batch.result_of(answer))
        except Exception as exc:  # noqa: BLE001 - the item's own error
            outcomes.append(type(exc))
    return outcomes


def test_each_item_gets_what_a_read_of_its_own_would(registry, rows):
    mine = registry.register_resident(VILLAGE, person(name="Batch Satu"), OFFICER)
    theirs = registry.register_resident(OTHER_VILLAGE, person(name="Batch Dua"), OFFICER)
    me = {"role": "resident", "village_code": VILLAGE, "username": None, "nik": mine["nik"]}

    answers = registry.get_residents([
        _item(mine["nik"], VILLAGE, CLERK, "req-1"),
        _item(theirs["nik"], VILLAGE, CLERK, "req-2"),      # another village: not found
        _item(theirs["nik"], OTHER_VILLAGE, STRANGER, "req-3"),
        _item("3604070101909999", VILLAGE, CLERK, "req-4"),  # nobody
        _item(mine["nik"], None, ADMIN, "req-5"),
        _item(mine["nik"], VILLAGE, me, "req-6"),
    ])
    assert _outcomes(answers) == [registry.get_resident(mine["nik"], VILLAGE), NotFound,
                                  registry.get_resident(theirs["nik"], OTHER_VILLAGE),
                                  NotFound, mine, mine]
    logged = reads_of(rows, mine["nik"])
    assert [(r["actor_role"], r["actor_username"], r["actor_nik"], r["request_id"],
             r["purpose"], r["village_code"]) for r in logged] == [
        ("officer", CLERK["username"], None, "req-1", "resident.read", VILLAGE),
        ("regency_admin", "batch.admin", None, "req-5", "resident.read", VILLAGE),
        ("resident", None, mine["nik"], "req-6", "resident.read", VILLAGE)]
    assert [(r["actor_username"], r["request_id"]) for r in reads_of(rows, theirs["nik"])] == [
        ("batch.stranger", "req-3")]  # the refused read of req-2 is not logged


def test_one_select_and_one_audit_insert_for_the_whole_batch(registry, rows):
    niks = [registry.register_resident(VILLAGE, person(), OFFICER)["nik"] for _ in range(3)]
    statements = []

    def note(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.lstrip().split()[0].upper() + " " + (
            "audit_log" if "audit_log" in statement else
            "residents" if "FROM residents" in statement else "other"))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
    try:
        answers = registry.get_residents([_item(nik, VILLAGE, CLERK) for nik in niks * 2])
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)
    assert [answer["result"]["nik"] for answer in answers] == niks * 2
    assert statements.count("SELECT residents") == 1
    assert statements.count("INSERT audit_log") == 1
    # A read per item, even of the same record by the same reader in two requests.
    assert all(len(reads_of(rows, nik)) == 2 for nik in niks)


def test_an_item_past_its_deadline_is_refused_and_not_logged(registry, rows):
    nik = registry.register_resident(VILLAGE, person(), OFFICER)["nik"]
    answers = registry.get_residents([
        _item(nik, VILLAGE, CLERK, "late", deadline=time.time() - 1),
        _item(nik, VILLAGE, CLERK, "in-time")])
    late, in_time = _outcomes(answers)
    assert late is DeadlineExceeded and in_time["nik"] == nik
    assert [r["request_id"] for r in reads_of(rows, nik)] == ["in-time"]


def test_a_malformed_item_or_actor_fails_alone(registry, rows):
    nik = registry.register_resident(VILLAGE, person(), OFFICER)["nik"]
    answers = registry.get_residents([
        _item(nik, VILLAGE, {"role": "stranger"}, "bad-actor"),
        _item(12345, VILLAGE, CLERK, "bad-nik"),
        _item(nik, VILLAGE, CLERK, "good")])
    assert _outcomes(answers)[:2] == [ValidationFailed, ValidationFailed]
    assert answers[2]["result"]["nik"] == nik
    assert [r["request_id"] for r in reads_of(rows, nik)] == ["good"]


def test_a_malformed_batch_is_refused_whole(registry):
    for items in ("not a list", [1, 2], [_item("1", None, None)] * (batch.MAX_ITEMS + 1)):
        with pytest.raises(ValidationFailed):
            registry.get_residents(items)
    assert registry.get_residents([]) == []
