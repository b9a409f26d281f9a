"""The bulk load of a synthetic population: the register's own rows, consistent, and silent
(no event for the relay, no capture row for the backup shipper)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.registry.synthetic_load import VillagesNotEmpty, load_population
from tests.integration.registry.support import OFFICER, person

# Villages no other test uses (the last district of the reference list).
VILLAGES = ["36.04.35.2008", "36.04.35.2009"]
PER_VILLAGE = 300


def _scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.scalar(sa.text(sql), params)


@pytest.fixture
def loaded(registry_engine):
    before = {table: _scalar(registry_engine, f"SELECT count(*) FROM {table}")
              for table in ("outbox", "backup_changes", "resident_changes")}
    report = load_population(registry_engine, VILLAGES, PER_VILLAGE, seed=3)
    yield report, before
    with registry_engine.begin() as conn:  # leave the shared database as it was
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for sql in ("DELETE FROM family_memberships WHERE family_id IN "
                    "(SELECT id FROM families WHERE village_code = ANY(:v))",
                    "DELETE FROM families WHERE village_code = ANY(:v)",
                    "DELETE FROM audit_log WHERE village_code = ANY(:v)",
                    "DELETE FROM resident_changes WHERE village_code = ANY(:v)",
                    "DELETE FROM residents WHERE village_code = ANY(:v)"):
            conn.execute(sa.text(sql), {"v": VILLAGES})


def test_bulk_load_writes_consistent_families_and_no_event_or_capture_row(registry_engine,
                                                                           loaded):
    report, before = loaded
    assert (report.villages, report.residents) == (2, 2 * PER_VILLAGE)
    counts = dict(_rows(registry_engine, (
        "SELECT village_code, count(*) FROM residents WHERE village_code = ANY(:v) "
        "GROUP BY village_code"), v=VILLAGES))
    assert counts == dict.fromkeys(VILLAGES, PER_VILLAGE)
    assert _scalar(registry_engine, "SELECT count(*) FROM families WHERE village_code = ANY(:v)",
                   v=VILLAGES) == report.families
    # Every family has its head as a member, every resident one open membership of the card
    # their record names, and foreign keys hold although no trigger checked them.
    broken = _scalar(registry_engine, """
        SELECT count(*) FROM residents r
        LEFT JOIN family_memberships m ON m.resident_id = r.id AND m.valid_to IS NULL
        LEFT JOIN families f ON f.id = m.family_id
        WHERE r.village_code = ANY(:v)
          AND (f.number IS DISTINCT FROM r.family_number
               OR m.relationship IS DISTINCT FROM r.relationship
               OR f.village_code <> r.village_code)""", v=VILLAGES)
    headless = _scalar(registry_engine, """
        SELECT count(*) FROM families f LEFT JOIN residents h ON h.id = f.head_id
        WHERE f.village_code = ANY(:v) AND (h.relationship IS DISTINCT FROM 1
                                            OR h.family_number <> f.number)""", v=VILLAGES)
    assert (broken, headless) == (0, 0)
    after = {table: _scalar(registry_engine, f"SELECT count(*) FROM {table}")
             for table in before}
    assert after == before


def _rows(engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql), params)]


def test_loaded_residents_are_searchable_and_the_register_goes_on_after_them(registry,
                                                                             registry_engine,
                                                                             loaded):
    sample = _rows(registry_engine, "SELECT nik, name FROM residents WHERE village_code = :v "
                   "ORDER BY id DESC LIMIT 1", v=VILLAGES[1])[0]
    found = registry.search_residents(VILLAGES[1], q=sample[0][:14])
    assert [r["name"] for r in found["items"]] == [sample[1]] and found["total"] == 1
    family = registry.get_family(
        registry.get_resident(sample[0], VILLAGES[1])["family_number"], VILLAGES[1])
    assert sample[0] in {m["nik"] for m in family["members"]}
    # Ids and sequences moved past the loaded rows: the next registration just works.
    new = registry.register_resident(VILLAGES[0], person(name="Sesudah Muat"), OFFICER)
    assert new["village_code"] == VILLAGES[0]


def test_a_village_with_residents_is_never_loaded_again(registry_engine, loaded):
    with pytest.raises(VillagesNotEmpty, match=VILLAGES[0]):
        load_population(registry_engine, VILLAGES[:1], 10)
    assert _scalar(registry_engine, "SELECT count(*) FROM residents WHERE village_code = :v",
                   v=VILLAGES[0]) == PER_VILLAGE
