"""Who read whose record (UU 27/2022 PDP): reads are logged in the read's own call, and the
resident_reads RPC shows a resident who read them, newest first."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from nameko.testing.services import entrypoint_hook

from services.common.errors import NotFound, ValidationFailed
from tests.integration.registry.support import OFFICER, fake_nik, person

pytestmark = pytest.mark.integration

VILLAGE = "36.04.15.2001"  # Cikande
OTHER_VILLAGE = "36.04.15.2002"
CLERK = {"role": "officer", "village_code": VILLAGE, "username": "reads.officer", "nik": None}
ADMIN = {"role": "regency_admin", "village_code": None, "username": "reads.admin", "nik": None}


def reads_of(rows, nik: str) -> list[dict]:
    with rows.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT subject_nik AS nik, village_code, actor_role, actor_username, actor_nik,"
            " purpose, at AS read_at, request_id FROM audit_log"
            " WHERE subject_nik = :n AND action = 'read' ORDER BY id"), {"n": nik}).mappings()]


def test_reading_a_record_logs_actor_purpose_and_request_id(registry, rows):
    nik = registry.register_resident(VILLAGE, person(name="Dibaca Contoh"), OFFICER)["nik"]
    assert reads_of(rows, nik) == []  # registering is not reading
    started = datetime.now(UTC)

    with entrypoint_hook(registry.container, "get_resident",
                         context_data={"request_id": "req-reads-1"}) as get_resident:
        record = get_resident(nik, VILLAGE, CLERK)
    assert record["nik"] == nik
    registry.resident_history(nik, None, ADMIN)

    logged = reads_of(rows, nik)
    assert [(r["actor_role"], r["actor_username"], r["purpose"]) for r in logged] == [
        ("officer", "reads.officer", "resident.read"),
        ("regency_admin", "reads.admin", "resident.history")]
    assert logged[0]["village_code"] == VILLAGE and logged[0]["actor_nik"] is None
    assert logged[0]["request_id"] == "req-reads-1"
    assert started <= logged[0]["read_at"] <= logged[1]["read_at"] <= datetime.now(UTC)


def test_reads_are_not_events(registry, rows):
    nik = registry.register_resident(VILLAGE, person(), OFFICER)["nik"]
    before = len(rows.events(nik))
    outbox = rows.count("outbox")
    registry.get_resident(nik, VILLAGE, CLERK)
    assert rows.count("outbox") == outbox and len(rows.events(nik)) == before


def test_callers_without_an_actor_log_nothing(registry, rows):
    nik = registry.register_resident(VILLAGE, person(), OFFICER)["nik"]
    registry.get_resident(nik, VILLAGE)
    registry.resident_history(nik, VILLAGE)
    assert reads_of(rows, nik) == []


def test_a_record_is_not_returned_unlogged(registry, rows):
    """A malformed actor is refused and the record is not handed out."""
    nik = registry.register_resident(VILLAGE, person(), OFFICER)["nik"]
    for actor in ({"username": "no.role"}, {"role": "stranger"}, "officer"):
        with pytest.raises(ValidationFailed) as caught:
            registry.get_resident(nik, VILLAGE, actor)
        assert "actor" in caught.value.fields
    assert reads_of(rows, nik) == []


def test_another_village_is_not_found_and_not_logged(registry, rows):
    nik = registry.register_resident(VILLAGE, person(), OFFICER)["nik"]
    stranger = {**CLERK, "village_code": OTHER_VILLAGE, "username": "reads.stranger"}
    with pytest.raises(NotFound):
        registry.get_resident(nik, OTHER_VILLAGE, stranger)
    with pytest.raises(NotFound):
        registry.resident_reads(nik, OTHER_VILLAGE)
    assert reads_of(rows, nik) == []


def test_search_logs_one_read_per_returned_resident_in_one_insert(registry, rows):
    found = [registry.register_resident(VILLAGE, person(name=f"Telusur Baca {suffix}"),
                                        OFFICER)["nik"] for suffix in ("Satu", "Dua", "Tiga")]
    elsewhere = registry.register_resident(OTHER_VILLAGE, person(name="Telusur Baca Empat"),
                                           OFFICER)["nik"]
    inserts = []

    def count_inserts(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            inserts.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count_inserts)
    try:
        page = registry.search_residents(VILLAGE, q="telusur baca", page=1, per_page=2,
                                         actor=CLERK)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count_inserts)

    assert page["total"] == 3 and len(page["items"]) == 2
    returned = [item["nik"] for item in page["items"]]
    assert len(inserts) == 1
    for nik in found:
        logged = reads_of(rows, nik)
        if nik in returned:
            assert [(r["purpose"], r["actor_username"]) for r in logged] == [
                ("resident.search", "reads.officer")]
        else:
            assert logged == []  # on page 2, not shown: not read
    assert reads_of(rows, elsewhere) == []

    empty = registry.search_residents(VILLAGE, q="tidak ada nama begini", actor=CLERK)
    assert empty["items"] == []


def test_family_read_logs_every_person_the_card_names(registry, rows):
    head = registry.register_resident(VILLAGE, person(date(1979, 4, 9), "L"), OFFICER)
    wife = registry.register_resident(VILLAGE, person(date(1981, 5, 3), "P"), OFFICER)
    number = "3604150201189001"
    registry.register_family(VILLAGE, {"number": number, "head_nik": head["nik"],
                                       "valid_from": "2018-01-02",
                                       "members": [{"nik": wife["nik"], "relationship": 3}]},
                             OFFICER)
    registry.end_family_membership(number, wife["nik"], "2025-01-01", VILLAGE, OFFICER)

    family = registry.get_family(number, VILLAGE, CLERK)
    assert [m["nik"] for m in family["history"]] == [wife["nik"]]
    for nik in (head["nik"], wife["nik"]):
        assert [(r["purpose"], r["actor_role"]) for r in reads_of(rows, nik)] == [
            ("family.read", "officer")]


def test_the_resident_sees_who_read_them_newest_first(registry, rows):
    me = registry.register_resident(VILLAGE, person(name="Pemilik Data"), OFFICER)["nik"]
    other = registry.register_resident(VILLAGE, person(name="Tetangga Data"), OFFICER)["nik"]
    myself = {"role": "resident", "village_code": VILLAGE, "username": None, "nik": me}
    registry.get_resident(me, VILLAGE, CLERK)
    registry.search_residents(VILLAGE, q="data", actor=CLERK)  # lists me and my neighbour
    registry.resident_history(me, None, ADMIN)
    registry.get_resident(me, VILLAGE, myself)
    registry.get_resident(other, VILLAGE, CLERK)

    page = registry.resident_reads(me, VILLAGE)
    assert page["total"] == 4 and page["page"] == 1 and page["per_page"] == 20
    assert [(i["role"], i["username"], i["purpose"]) for i in page["items"]] == [
        ("resident", None, "resident.read"),
        ("regency_admin", "reads.admin", "resident.history"),
        ("officer", "reads.officer", "resident.search"),
        ("officer", "reads.officer", "resident.read")]
    assert all(set(item) == {"read_at", "role", "username", "purpose"}
               for item in page["items"])
    assert other not in str(page)

    second = registry.resident_reads(me, None, page=2, per_page=3)
    assert second["total"] == 4 and second["per_page"] == 3
    assert [i["purpose"] for i in second["items"]] == ["resident.read"]
    assert second["items"][0]["read_at"] <= page["items"][0]["read_at"]
    with pytest.raises(ValidationFailed):
        registry.resident_reads(me, VILLAGE, page=1, per_page=0)


def test_a_service_may_name_its_purpose(registry, rows):
    nik = registry.register_resident(VILLAGE, person(), OFFICER)["nik"]
    registry.get_resident(nik, VILLAGE, {**CLERK, "purpose": "letters.subject"})
    assert [r["purpose"] for r in reads_of(rows, nik)] == ["letters.subject"]
    with pytest.raises(ValidationFailed):
        registry.get_resident(nik, VILLAGE, {**CLERK, "purpose": "DROP TABLE"})


def test_reads_follow_the_record_when_its_temporary_number_is_replaced(registry):
    baby = registry.register_resident(VILLAGE, person(date(2025, 7, 1), "L", nik=None,
                                                      marital_status="Belum Kawin"), OFFICER)
    registry.get_resident(baby["nik"], VILLAGE, CLERK)
    nik = fake_nik(date(2025, 7, 1), "L")
    registry.update_resident(baby["nik"], {"nik": nik}, VILLAGE, OFFICER)
    assert [i["purpose"] for i in registry.resident_reads(nik, VILLAGE)["items"]] == [
        "resident.read"]
