"""Residents through the running registry service: register, read, update, search, tenancy."""
from __future__ import annotations

from datetime import date

import pytest

from services.common.errors import Conflict, NotFound, Unprocessable, ValidationFailed
from tests.integration.registry.support import OFFICER, fake_nik, person

pytestmark = pytest.mark.integration

VILLAGE = "36.04.05.2002"
OTHER_VILLAGE = "36.04.05.2003"


def test_ping(registry):
    assert registry.ping() == {"service": "registry", "database": "ok"}


def test_register_read_update_with_history_and_events(registry, rows):
    data = person(date(1985, 3, 7), "P", name="Ratna Contoh", address={"rt": 3, "rw": "02"},
                  occupation="Guru")
    created = registry.register_resident(VILLAGE, data, OFFICER)
    nik = data["nik"]
    assert created["nik"] == nik and created["has_nik"] is True
    assert created["birth_date"] == "1985-03-07" and created["sex"] == "P"
    assert created["address"] == {"dusun": None, "rw": "002", "rt": "003", "street": None}
    assert created["status"] == "alive" and created["village_code"] == VILLAGE
    assert created["warnings"] == [] and created["family_number"] is None
    assert registry.get_resident(nik, VILLAGE) == created
    assert registry.get_resident(nik, None) == created  # regency-wide scope

    updated = registry.update_resident(nik, {"occupation": "Kepala Sekolah",
                                             "address": {"rt": "4"}}, VILLAGE, OFFICER)
    assert updated["occupation"] == "Kepala Sekolah"
    assert updated["address"]["rt"] == "004" and updated["address"]["rw"] == "002"

    events = rows.events(nik)
    assert [e["type"] for e in events] == ["resident.registered", "resident.updated"]
    assert events[0]["payload"] == created and events[1]["payload"] == updated
    assert events[0]["village_code"] == VILLAGE and events[0]["source"] == "registry"

    history = registry.resident_history(nik, VILLAGE)
    assert [h["reason"] for h in history] == ["registered", "updated"]
    assert history[1]["changes"] == {"occupation": ["Guru", "Kepala Sekolah"],
                                     "rt": ["003", "004"]}
    assert history[1]["actor"] == OFFICER

    # Same values again: nothing changes, no event, no history line.
    registry.update_resident(nik, {"occupation": "Kepala Sekolah"}, VILLAGE, OFFICER)
    assert len(rows.events(nik)) == 2 and len(registry.resident_history(nik, VILLAGE)) == 2


def test_unknown_district_prefix_is_kept_with_a_warning(registry):
    nik = "9999991208909001"  # no such district: old code, still accepted
    created = registry.register_resident(VILLAGE, person(nik=nik), OFFICER)
    assert created["nik"] == nik
    assert any("999999" in w for w in created["warnings"])


def test_temporary_number_then_the_real_nik_once(registry, rows):
    baby = person(date(2025, 6, 1), "P", nik=None, name="Bayi Contoh",
                  marital_status="Belum Kawin")
    first = registry.register_resident(OTHER_VILLAGE, baby, OFFICER)
    second = registry.register_resident(OTHER_VILLAGE, {**baby, "name": "Bayi Dua Contoh"},
                                        OFFICER)
    assert first["nik"].startswith("TMP-3604052003-") and first["has_nik"] is False
    assert int(second["nik"][-6:]) == int(first["nik"][-6:]) + 1
    assert first["warnings"]

    nik = fake_nik(date(2025, 6, 1), "P")
    replaced = registry.update_resident(first["nik"], {"nik": nik}, OTHER_VILLAGE, OFFICER)
    assert replaced["nik"] == nik and replaced["has_nik"] is True and "previous_nik" not in replaced
    assert rows.events(nik)[-1]["payload"]["previous_nik"] == first["nik"]
    with pytest.raises(NotFound):
        registry.get_resident(first["nik"], OTHER_VILLAGE)
    assert registry.resident_history(nik, OTHER_VILLAGE)[-1]["changes"]["nik"] == [
        first["nik"], nik]
    # The NIK itself never changes afterwards.
    with pytest.raises(Unprocessable) as caught:
        registry.update_resident(nik, {"nik": fake_nik(date(2025, 6, 1), "P")}, OTHER_VILLAGE,
                                 OFFICER)
    assert "nik" in caught.value.fields
    # A wrong-sex NIK cannot replace a temporary number either.
    with pytest.raises(ValidationFailed) as caught:
        registry.update_resident(second["nik"], {"nik": fake_nik(date(2025, 6, 1), "L")},
                                 OTHER_VILLAGE, OFFICER)
    assert "sex" in caught.value.fields


def test_duplicate_nik_is_a_conflict_and_writes_nothing(registry, rows):
    data = person()
    registry.register_resident(VILLAGE, data, OFFICER)
    before = rows.snapshot()
    for village in (VILLAGE, OTHER_VILLAGE):
        with pytest.raises(Conflict) as caught:
            registry.register_resident(village, {**data, "name": "Orang Lain"}, OFFICER)
        assert "nik" in caught.value.fields
    assert rows.snapshot() == before


@pytest.mark.parametrize("change,field", [
    ({"nik": "12345"}, "nik"),
    ({"sex": "P"}, "sex"),                       # the NIK's day says male
    ({"birth_date": "1990-08-13"}, "birth_date"),  # NIK says 12-08-90
    ({"religion": "Jedi"}, "religion"),
    ({"name": ""}, "name"),
    ({"birth_date": "tomorrow"}, "birth_date"),
    ({"address": {"rt": "1000"}}, "address"),
    ({"unexpected": True}, "unexpected"),
])
def test_bad_input_is_refused_with_the_field_and_writes_nothing(registry, rows, change, field):
    before = rows.snapshot()
    with pytest.raises(ValidationFailed) as caught:
        registry.register_resident(VILLAGE, {**person(), **change}, OFFICER)
    assert field in caught.value.fields
    assert rows.snapshot() == before


def test_missing_fields_and_unknown_village(registry, rows):
    before = rows.snapshot()
    with pytest.raises(ValidationFailed) as caught:
        registry.register_resident(VILLAGE, {"nik": fake_nik(date(1990, 1, 1), "L")}, OFFICER)
    assert {"name", "sex", "birth_date", "religion"} <= set(caught.value.fields)
    with pytest.raises(ValidationFailed):
        registry.register_resident(VILLAGE, ["not", "an", "object"], OFFICER)
    with pytest.raises(NotFound):
        registry.register_resident("36.04.99.2999", person(), OFFICER)
    with pytest.raises(ValidationFailed):
        registry.update_resident(registry.register_resident(VILLAGE, person(), OFFICER)["nik"],
                                 {"status": "dead"}, VILLAGE, OFFICER)  # life events only
    assert rows.count("residents") == before["residents"] + 1


def test_search_and_pagination(registry):
    village = "36.04.05.2004"
    names = ["Sari Contoh", "SARIPAH Contoh", "Budi Contoh", "Ani Contoh", "Rosari Contoh"]
    created = [registry.register_resident(village, person(
        name=name, address={"dusun": "Dusun II", "rw": 1, "rt": index % 2 + 1}), OFFICER)
        for index, name in enumerate(names)]
    registry.register_resident("36.04.05.2005", person(name="Sari Tetangga"), OFFICER)

    found = registry.search_residents(village, q="sari")
    assert [r["name"] for r in found["items"]] == ["Rosari Contoh", "Sari Contoh",
                                                   "SARIPAH Contoh"]
    assert found["total"] == 3 and found["page"] == 1 and found["per_page"] == 20

    by_nik = registry.search_residents(village, q=created[2]["nik"][:14])
    assert created[2]["nik"] in [r["nik"] for r in by_nik["items"]]
    assert registry.search_residents(village, q=created[2]["nik"])["total"] == 1

    rt2 = registry.search_residents(village, dusun="dusun ii", rw="001", rt=2)
    assert {r["name"] for r in rt2["items"]} == {"SARIPAH Contoh", "Ani Contoh"}

    page1 = registry.search_residents(village, page=1, per_page=2)
    page3 = registry.search_residents(village, page=3, per_page=2)
    assert page1["total"] == 5 and len(page1["items"]) == 2 and len(page3["items"]) == 1
    assert [r["name"] for r in page1["items"]] == ["Ani Contoh", "Budi Contoh"]
    assert registry.search_residents(village, q="%")["total"] == 0  # LIKE wildcards are text
    assert registry.search_residents(village, status="dead")["total"] == 0
    with pytest.raises(ValidationFailed) as caught:
        registry.search_residents(village, per_page=1000)
    assert "per_page" in caught.value.fields


def test_name_search_ignores_accents_and_case_and_regency_wide_search_spans_villages(registry):
    first = registry.register_resident("36.04.05.2006", person(name="José Núñez Contoh"),
                                       OFFICER)
    second = registry.register_resident("36.04.05.2007", person(sex="P", name="Inés NUNEZ",
                                                                birth=date(1991, 2, 3)), OFFICER)
    in_village = registry.search_residents("36.04.05.2006", q="nunez")
    assert [r["nik"] for r in in_village["items"]] == [first["nik"]]
    assert registry.search_residents("36.04.05.2006", q="JOSÉ NÚÑ")["total"] == 1
    everywhere = registry.search_residents(None, q="Nuñez")
    assert {r["nik"] for r in everywhere["items"]} >= {first["nik"], second["nik"]}
    assert registry.search_residents(None, q=second["nik"][:13])["items"][0]["nik"] == \
        second["nik"]


def test_regency_search_counts_up_to_the_cap_and_pages_the_same_matches(registry, monkeypatch):
    from services.registry.app import residents

    names = ["Kapitalis Dua", "Kapitalis Satu", "Ade Kapitalis", "Kapitalis Tiga",
             "Zaenal Kapitalis"]
    for index, name in enumerate(names):
        registry.register_resident(("36.04.05.2008", "36.04.05.2009")[index % 2],
                                   person(name=name), OFFICER)
    everyone = registry.search_residents(None, q="kapitalis")
    assert everyone["total"] == 5 and everyone["total_capped"] is False
    assert [r["name"] for r in everyone["items"]] == sorted(names, key=str.lower)

    monkeypatch.setattr(residents, "SEARCH_TOTAL_CAP", 3)
    pages = [registry.search_residents(None, q="kapitalis", page=page, per_page=2)
             for page in (1, 2, 3)]
    assert all(p["total"] == 3 and p["total_capped"] is True for p in pages)
    shown = [r["name"] for p in pages for r in p["items"]]
    # Three of the five, once each, in name order across the pages; nothing past the cap.
    assert len(shown) == 3 and len(set(shown)) == 3 and set(shown) <= set(names)
    assert shown == sorted(shown, key=str.lower) and pages[2]["items"] == []
    # Within a village the total stays exact whatever the cap.
    village = registry.search_residents("36.04.05.2008", q="kapitalis")
    assert village["total"] == 3 and village["total_capped"] is False


def test_another_village_sees_nothing(registry, rows):
    village, other = "36.04.05.2006", "36.04.05.2007"
    nik = registry.register_resident(village, person(name="Rahasia Contoh"), OFFICER)["nik"]
    before = rows.snapshot()
    calls = [
        lambda: registry.get_resident(nik, other),
        lambda: registry.update_resident(nik, {"occupation": "X"}, other, OFFICER),
        lambda: registry.resident_history(nik, other),
        lambda: registry.record_life_event(nik, {"type": "missing", "date": "2026-01-01"},
                                           other, OFFICER),
        lambda: registry.issue_pin(nik, other, OFFICER),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert registry.search_residents(other, q="Rahasia")["total"] == 0
    assert registry.search_residents(village, q="Rahasia")["total"] == 1
    assert rows.snapshot() == before
