"""Life events (mutasi) and family cards through the running registry service."""
from __future__ import annotations

from datetime import date

import pytest

from services.common.errors import Conflict, NotFound, Unprocessable, ValidationFailed
from tests.integration.registry.support import OFFICER, fake_nik, person

pytestmark = pytest.mark.integration

VILLAGE = "36.04.14.2001"
DEATH = {"type": "death", "date": "2026-01-10", "reported_at": "2026-01-11",
         "place": "Rumah", "time": "04:30", "cause": "Sakit", "reporter": "Anak Contoh"}


def test_death_changes_status_and_emits_resident_died(registry, rows):
    nik = registry.register_resident(VILLAGE, person(), OFFICER)["nik"]
    result = registry.record_life_event(nik, DEATH, VILLAGE, OFFICER)
    assert result["resident"]["status"] == "dead"
    assert result["event"]["type"] == "death" and result["event"]["date"] == "2026-01-10"
    assert result["event"]["reported_at"] == "2026-01-11"
    assert result["event"]["details"] == {"place": "Rumah", "time": "04:30", "cause": "Sakit",
                                          "reporter": "Anak Contoh"}
    assert registry.get_resident(nik, VILLAGE)["status"] == "dead"

    died = rows.events(nik)[-1]
    assert died["type"] == "resident.died" and died["aggregate_id"] == nik
    assert died["payload"] == result["resident"] and died["village_code"] == VILLAGE
    assert registry.resident_history(nik, VILLAGE)[-1]["changes"] == {
        "status": ["alive", "dead"]}

    before = rows.snapshot()
    with pytest.raises(Unprocessable) as caught:
        registry.record_life_event(nik, DEATH, VILLAGE, OFFICER)  # nobody dies twice
    assert "type" in caught.value.fields
    with pytest.raises(Unprocessable):
        registry.record_life_event(nik, {"type": "move_out", "date": "2026-01-12",
                                         "destination": "Cilegon"}, VILLAGE, OFFICER)
    assert rows.snapshot() == before
    assert rows.count("residents", "nik = :n", n=nik) == 1  # never deleted


def test_move_out_then_back_in(registry, rows):
    nik = registry.register_resident(VILLAGE, person(), OFFICER)["nik"]
    with pytest.raises(Unprocessable):
        registry.record_life_event(nik, {"type": "move_in", "date": "2026-02-01",
                                         "origin": "Cilegon"}, VILLAGE, OFFICER)
    out = registry.record_life_event(nik, {"type": "move_out", "date": "2026-02-01",
                                           "destination": "Kota Cilegon"}, VILLAGE, OFFICER)
    assert out["resident"]["status"] == "moved_out"
    back = registry.record_life_event(nik, {"type": "move_in", "date": "2026-03-01",
                                            "origin": "Kota Cilegon"}, VILLAGE, OFFICER)
    assert back["resident"]["status"] == "alive"
    assert [e["type"] for e in rows.events(nik)] == [
        "resident.registered", "resident.moved_out", "resident.moved_in"]
    assert rows.events(nik)[-1]["payload"] == back["resident"]
    assert rows.count("life_events", "type IN ('move_out', 'move_in')"
                      " AND details->>'destination' IS NOT NULL") >= 1


def test_missing_emits_resident_updated(registry, rows):
    nik = registry.register_resident(VILLAGE, person(), OFFICER)["nik"]
    result = registry.record_life_event(nik, {"type": "missing", "date": "2026-02-01",
                                              "circumstances": "Melaut"}, VILLAGE, OFFICER)
    assert result["resident"]["status"] == "missing"
    event = rows.events(nik)[-1]
    assert event["type"] == "resident.updated" and event["payload"]["status"] == "missing"


@pytest.mark.parametrize("event,field", [
    ({"type": "death", "date": "2026-01-10"}, "place"),
    ({"type": "death", **{k: v for k, v in DEATH.items() if k != "type"}, "date": "2999-01-01",
      "reported_at": None}, "date"),
    ({**DEATH, "reported_at": "2026-01-09"}, "reported_at"),
    ({"type": "promotion", "date": "2026-01-10"}, "type"),
    ({"type": "move_out", "date": "2026-01-10"}, "destination"),
])
def test_bad_life_events_change_nothing(registry, rows, event, field):
    nik = registry.register_resident(VILLAGE, person(), OFFICER)["nik"]
    before = rows.snapshot()
    with pytest.raises(ValidationFailed) as caught:
        registry.record_life_event(nik, event, VILLAGE, OFFICER)
    assert field in caught.value.fields
    assert rows.snapshot() == before
    assert registry.get_resident(nik, VILLAGE)["status"] == "alive"


def family_of_three(registry, number: str) -> tuple[dict, dict, dict]:
    head = registry.register_resident(VILLAGE, person(date(1980, 1, 5), "L",
                                                      name="Kepala Contoh"), OFFICER)
    wife = registry.register_resident(VILLAGE, person(date(1982, 2, 6), "P",
                                                      name="Istri Contoh"), OFFICER)
    child = registry.register_resident(VILLAGE, person(date(2010, 3, 7), "L", name="Anak Contoh",
                                                       marital_status="Belum Kawin"), OFFICER)
    family = registry.register_family(VILLAGE, {
        "number": number, "head_nik": head["nik"], "valid_from": "2015-03-15",
        "members": [{"nik": wife["nik"], "relationship": 3},
                    {"nik": child["nik"], "relationship": 4}]}, OFFICER)
    return family, head, wife


def test_family_card_members_and_history(registry, rows):
    number = "3604141503159001"
    family, head, wife = family_of_three(registry, number)
    assert family["number"] == number and family["head_nik"] == head["nik"]
    assert [(m["name"], m["relationship"]) for m in family["members"]] == [
        ("Kepala Contoh", 1), ("Istri Contoh", 3), ("Anak Contoh", 4)]
    assert family["members"][0]["valid_from"] == "2015-03-15" and family["history"] == []
    assert family["address"] == {"dusun": "Dusun I", "rw": "001", "rt": "002", "street": None}
    assert registry.get_family(number, VILLAGE) == family
    assert registry.get_resident(wife["nik"], VILLAGE)["family_number"] == number
    assert registry.get_resident(wife["nik"], VILLAGE)["relationship"] == 3
    assert rows.events(number)[-1]["payload"] == family
    assert rows.events(wife["nik"])[-1]["type"] == "resident.updated"

    # A birth to the wife registers the child into the same card as Anak.
    birth = registry.record_life_event(wife["nik"], {
        "type": "birth", "date": "2026-01-02", "place": "Puskesmas",
        "child": {"name": "Bayi Contoh", "sex": "P", "birth_place": "Serang",
                  "religion": "Islam"}}, VILLAGE, OFFICER)
    baby = birth["resident"]
    assert baby["nik"].startswith("TMP-3604142001-") and baby["birth_date"] == "2026-01-02"
    assert baby["mother_nik"] == wife["nik"] and baby["mother_name"] == "Istri Contoh"
    assert baby["family_number"] == number and baby["relationship"] == 4
    assert baby["address"] == head["address"] and baby["marital_status"] == "Belum Kawin"
    assert birth["event"]["nik"] == baby["nik"]
    assert birth["event"]["details"]["parent_nik"] == wife["nik"]
    assert rows.events(baby["nik"])[0]["type"] == "resident.registered"
    assert rows.events(baby["nik"])[0]["payload"] == baby
    assert len(registry.get_family(number, VILLAGE)["members"]) == 4

    ended = registry.end_family_membership(number, wife["nik"], "2026-02-01", VILLAGE, OFFICER)
    assert wife["nik"] not in [m["nik"] for m in ended["members"]]
    assert ended["history"] == [{"nik": wife["nik"], "name": "Istri Contoh", "relationship": 3,
                                 "valid_from": "2015-03-15", "valid_to": "2026-02-01"}]
    assert registry.get_resident(wife["nik"], VILLAGE)["family_number"] is None

    rejoined = registry.add_family_member(number, {"nik": wife["nik"], "relationship": 3,
                                                   "valid_from": "2026-02-02"}, VILLAGE, OFFICER)
    assert len(rejoined["members"]) == 4 and len(rejoined["history"]) == 1


def test_family_rules(registry, rows):
    number = "3604141604169001"
    family, head, wife = family_of_three(registry, number)
    loner = registry.register_resident(VILLAGE, person(), OFFICER)
    before = rows.snapshot()
    with pytest.raises(Conflict):  # same number again
        registry.register_family(VILLAGE, {"number": number, "head_nik": loner["nik"]}, OFFICER)
    with pytest.raises(Conflict):  # one card at a time
        registry.register_family(VILLAGE, {"number": "3604141604169002", "head_nik": loner["nik"],
                                           "members": [{"nik": wife["nik"], "relationship": 3}]},
                                 OFFICER)
    with pytest.raises(Conflict):  # one head per card
        registry.add_family_member(number, {"nik": loner["nik"], "relationship": 1}, VILLAGE,
                                   OFFICER)
    with pytest.raises(ValidationFailed) as caught:
        registry.register_family(VILLAGE, {"number": "3604141604160000",
                                           "head_nik": loner["nik"]}, OFFICER)
    assert "number" in caught.value.fields
    with pytest.raises(Unprocessable):  # a resident of another village
        other = registry.register_resident("36.04.14.2002", person(), OFFICER)
        registry.add_family_member(number, {"nik": other["nik"], "relationship": 9}, VILLAGE,
                                   OFFICER)
    with pytest.raises(NotFound):
        registry.get_family(number, "36.04.14.2002")
    with pytest.raises(NotFound):
        registry.end_family_membership(number, loner["nik"], "2026-01-01", VILLAGE, OFFICER)
    assert rows.count("families") == before["families"]
    assert rows.count("family_memberships") == before["family_memberships"]


def test_register_resident_straight_into_a_family_card(registry):
    number = "3604140107209001"
    head = registry.register_resident(VILLAGE, person(family_number=number, relationship=1),
                                      OFFICER)
    assert head["family_number"] == number and head["relationship"] == 1
    son = registry.register_resident(VILLAGE, person(date(2012, 1, 1), "L",
                                                     marital_status="Belum Kawin",
                                                     family_number=number, relationship=4),
                                     OFFICER)
    family = registry.get_family(number, VILLAGE)
    assert family["head_nik"] == head["nik"]
    assert [m["nik"] for m in family["members"]] == [head["nik"], son["nik"]]
    with pytest.raises(Unprocessable) as caught:  # no such card and not its head
        registry.register_resident(VILLAGE, person(family_number="3604140107209002",
                                                   relationship=4), OFFICER)
    assert "family_number" in caught.value.fields
    with pytest.raises(NotFound):
        registry.get_resident(fake_nik(date(1990, 1, 1), "L"), None)


def test_birth_checks_the_childs_nik_and_writes_nothing_when_wrong(registry, rows):
    mother = registry.register_resident(VILLAGE, person(date(1995, 4, 4), "P"), OFFICER)
    child = {"name": "Bayi Contoh", "sex": "L", "birth_place": "Serang", "religion": "Islam"}
    before = rows.snapshot()
    wrong_sex = {**child, "nik": fake_nik(date(2026, 1, 2), "P")}
    with pytest.raises(ValidationFailed) as caught:
        registry.record_life_event(mother["nik"], {"type": "birth", "date": "2026-01-02",
                                                   "child": wrong_sex}, VILLAGE, OFFICER)
    assert "sex" in caught.value.fields["child"]
    wrong_day = {**child, "nik": fake_nik(date(2026, 1, 3), "L")}  # NIK says 3 January
    with pytest.raises(ValidationFailed) as caught:
        registry.record_life_event(mother["nik"], {"type": "birth", "date": "2026-01-02",
                                                   "child": wrong_day}, VILLAGE, OFFICER)
    assert "birth_date" in caught.value.fields["child"]
    assert rows.snapshot() == before
    born = registry.record_life_event(mother["nik"], {
        "type": "birth", "date": "2026-01-02",
        "child": {**child, "nik": fake_nik(date(2026, 1, 2), "L")}}, VILLAGE, OFFICER)
    assert born["resident"]["has_nik"] is True and born["resident"]["family_number"] is None
