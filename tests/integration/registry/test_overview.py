"""The portal's village-wide views in registry: public statistics and the family list."""
from __future__ import annotations

from datetime import date

import pytest

from services.common.errors import NotFound, ValidationFailed
from services.registry.app import overview
from tests.integration.registry.support import OFFICER, person
from tests.support.fakes import fake_family_number

pytestmark = pytest.mark.integration

VILLAGE = "36.04.22.2004"
OTHER = "36.04.22.2005"
TODAY = date(2026, 6, 1)


def test_statistics_count_living_residents_only_and_carry_no_personal_data(registry, db):
    people = [
        person(date(2024, 1, 5), "L", occupation=None, education=None),  # 2 years old
        person(date(1990, 3, 1), "P", occupation="Petani", education="SLTA/Sederajat"),
        person(date(1990, 4, 1), "P", occupation="Petani", education="Diploma IV/Strata I"),
        person(date(1950, 7, 1), "L", occupation="Pedagang", education="SLTA/Sederajat"),
    ]
    niks = [registry.register_resident(VILLAGE, body, OFFICER)["nik"] for body in people]
    registry.register_resident(OTHER, person(date(1980, 1, 1), "L"), OFFICER)
    registry.record_life_event(niks[3], {"type": "death", "date": "2026-01-10",
                                         "place": "Rumah", "cause": "Sakit"}, VILLAGE, OFFICER)

    stats = overview.population_statistics(db, VILLAGE, today=TODAY)
    assert stats["total"] == 3  # the dead man is not counted, nor the other village
    assert stats["by_sex"] == [{"label": "Laki-laki", "count": 1},
                               {"label": "Perempuan", "count": 2}]
    ages = {row["label"]: row["count"] for row in stats["by_age"]}
    assert ages["0-4 tahun"] == 1 and ages["25-44 tahun"] == 2 and ages["75+ tahun"] == 0
    assert sum(ages.values()) == 3
    assert stats["by_occupation"] == [{"label": "Petani", "count": 2},
                                      {"label": "Belum diisi", "count": 1}]
    assert {row["label"] for row in stats["by_education"]} == {
        "SLTA/Sederajat", "Diploma IV/Strata I", "Belum diisi"}
    text = repr(stats)
    assert not any(nik in text for nik in niks) and "Warga Contoh" not in text

    # Through the service (what the public page calls) it answers the same.
    assert registry.population_statistics(VILLAGE)["total"] == 3
    with pytest.raises(NotFound):
        registry.population_statistics("36.04.99.2999")


def test_family_list_searches_counts_members_and_logs_the_heads_read(registry, rows):
    number = fake_family_number()
    head = registry.register_resident(VILLAGE, person(
        date(1970, 2, 2), "L", name="Sukardi Family", family_number=number, relationship=1),
        OFFICER)["nik"]
    registry.register_resident(VILLAGE, person(
        date(1972, 3, 3), "P", name="Istri Sukardi", family_number=number, relationship=3),
        OFFICER)
    other = fake_family_number()
    registry.register_resident(OTHER, person(
        date(1971, 2, 2), "L", name="Sukardi Lain", family_number=other, relationship=1),
        OFFICER)

    read = "subject_nik = :n AND action = 'read'"
    reads_before = rows.count("audit_log", read, n=head)
    found = registry.list_families(VILLAGE, "sukardi f", 1, 20, OFFICER)
    assert found["total"] == 1 and found["page"] == 1
    assert found["items"][0] == {"number": number, "head_nik": head,
                                 "head_name": "Sukardi Family", "members": 2,
                                 "dusun": "Dusun I", "rw": "001", "rt": "002", "street": None}
    assert rows.count("audit_log", read, n=head) == reads_before + 1
    by_number = registry.list_families(VILLAGE, number[:10], 1, 20, OFFICER)
    assert [item["number"] for item in by_number["items"]] == [number]
    assert other not in repr(registry.list_families(VILLAGE, None, 1, 100, OFFICER))
    assert registry.list_families(VILLAGE, "100%_", 1, 20, OFFICER)["total"] == 0
    with pytest.raises(ValidationFailed):
        registry.list_families(VILLAGE, None, 0, 20, OFFICER)
