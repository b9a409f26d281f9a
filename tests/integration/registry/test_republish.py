"""The registry announces its current state again for consumers that missed the first events."""
from __future__ import annotations

import sqlalchemy as sa

from services.registry import seed
from services.registry.republish import republish
from tests.integration.registry.support import in_unit_of_work

VILLAGE = seed.DEMO_VILLAGE


def outbox_rows(db, village_code: str) -> list[tuple[str, dict]]:
    db.rollback()
    return [(row.type, row.envelope["payload"]) for row in db.execute(sa.text(
        "SELECT type, envelope FROM outbox WHERE village_code = :v ORDER BY id"),
        {"v": village_code})]


def test_republish_announces_every_village_resident_and_family_of_a_village(db, registry):
    in_unit_of_work(db, seed.seed_demo, {
        "officer": "officer-demo-pass", "head": "head-demo-pass",
        "regency_admin": "admin-demo-pass", "operator": "operator-demo-pass",
        "resident_pin": "246810"})
    before = len(outbox_rows(db, VILLAGE))
    residents = registry.search_residents(VILLAGE, per_page=100)["items"]

    counts = in_unit_of_work(db, republish, VILLAGE)

    announced = outbox_rows(db, VILLAGE)[before:]
    assert counts == {"villages": 1, "residents": len(residents),
                      "families": sum(1 for t, _ in announced if t == "family.updated")}
    assert counts["families"] >= 10
    assert announced[0][0] == "village.updated" and announced[0][1]["code"] == VILLAGE
    states = {p["nik"]: p for t, p in announced if t == "resident.updated"}
    assert states == {r["nik"]: r for r in residents}  # the same state the API returns
    # Only the village asked for.
    assert all(p.get("village_code", p.get("code")) == VILLAGE for _, p in announced)
