"""The synthetic population: numbers valid under the register's rules, fake, deterministic,
and families shaped like real ones."""
from __future__ import annotations

from datetime import date

import pytest
from marshmallow import ValidationError

from services.registry import domain, identity, synthetic
from services.registry.reference import district_prefixes, serang_villages
from services.registry.schemas.residents import ResidentInput

# Two villages of one district, then one of the next district.
VILLAGES = [v.code for v in serang_villages()]
SAMPLE = [VILLAGES[0], VILLAGES[1], next(c for c in VILLAGES if c[:8] != VILLAGES[0][:8])]


@pytest.fixture(scope="module")
def families() -> list[synthetic.SyntheticFamily]:
    return list(synthetic.population(SAMPLE, 700, seed=7))


def _people(families):
    return [person for family in families for person in family.members]


def test_every_nik_and_family_number_passes_the_register_rules_and_is_marked_fake(families):
    known = district_prefixes()
    for family in families:
        card = identity.parse_family_number(family.number, known_districts=known)
        assert card.warnings == () and int(card.serial) >= synthetic.FIRST_SERIAL
        assert card.district_code == family.village_code[:8].replace(".", "")
        for person in family.members:
            parsed = identity.check_nik(person["nik"], sex=person["sex"],
                                        birth_date=date.fromisoformat(person["birth_date"]),
                                        known_districts=known)
            assert parsed.warnings == () and int(parsed.serial) >= synthetic.FIRST_SERIAL
            day = int(person["nik"][6:8])
            assert (day > 40) == (person["sex"] == domain.FEMALE)


def test_numbers_are_unique_across_villages_and_districts(families):
    niks = [p["nik"] for p in _people(families)]
    numbers = [f.number for f in families]
    assert len(set(niks)) == len(niks) and len(set(numbers)) == len(numbers)


def test_every_person_is_valid_register_resident_input(families):
    for person in _people(families):
        try:
            ResidentInput().load(person)
        except ValidationError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{person['name']}: {exc.messages}")


def test_each_village_gets_exactly_the_residents_asked_for(families):
    per_village = {}
    for family in families:
        per_village[family.village_code] = per_village.get(family.village_code, 0) + \
            len(family.members)
    assert per_village == dict.fromkeys(SAMPLE, 700)


def test_the_same_seed_gives_the_same_people_and_another_seed_others(families):
    again = list(synthetic.population(SAMPLE, 700, seed=7))
    other = list(synthetic.population(SAMPLE, 700, seed=8))
    assert again == families
    assert {p["nik"] for p in _people(other)} != {p["nik"] for p in _people(families)}
    # A village's people do not depend on which villages come before it (only the serials of
    # their numbers can: they are unique across the run).
    alone = list(synthetic.population(SAMPLE[2:], 700, seed=7))

    def people(fams):
        return [(p["name"], p["birth_date"], p["relationship"]) for p in _people(fams)]

    assert people(alone) == people(f for f in families if f.village_code == SAMPLE[2])


def test_families_are_shaped_like_family_cards(families):
    sizes = []
    for family in families:
        members = family.members
        sizes.append(len(members))
        assert members[0]["relationship"] == synthetic.HEAD
        assert [m["relationship"] for m in members].count(synthetic.HEAD) == 1
        assert all(m["family_number"] == family.number and m["address"] == family.address
                   for m in members)
        assert family.address["dusun"].startswith("Dusun ") and family.address["street"]
        wives = [m for m in members if m["relationship"] == synthetic.WIFE]
        if wives:
            assert members[0]["sex"] == domain.MALE and wives[0]["sex"] == domain.FEMALE
            assert members[0]["marital_status"] == wives[0]["marital_status"] == "Kawin"
        by_nik = {m["nik"]: m for m in members}
        for child in (m for m in members if m["relationship"] == synthetic.CHILD):
            mother = by_nik[child["mother_nik"]]
            assert mother["sex"] == domain.FEMALE
            gap = date.fromisoformat(child["birth_date"]) - \
                date.fromisoformat(mother["birth_date"])
            assert 16 * 365 < gap.days < 45 * 365
            if child.get("father_nik"):
                assert by_nik[child["father_nik"]]["relationship"] == synthetic.HEAD
        assert family.registered_on <= synthetic.AS_OF
    # Cards of one to eight people, about 3.4 on average as in Banten's registers.
    assert min(sizes) >= 1 and max(sizes) <= 9 and 2.8 < sum(sizes) / len(sizes) < 4.0


def test_names_vary_like_a_village_register(families):
    names = [p["name"] for p in _people(families)]
    assert len(set(names)) > len(names) / 3
    assert any(" " not in n for n in names) and any(n.count(" ") >= 1 for n in names)
    assert not any(char.isdigit() for n in names for char in n)


def test_the_serial_book_never_repeats_a_number_and_skips_reserved_ones():
    book = synthetic.SerialBook()
    book.reserve("3604051505909003")
    assert book.take("360405150590") == "3604051505909004"
    book.reserve("3604051505901234")  # not a fake serial: no effect
    taken = {book.take("360405150591") for _ in range(1000)}
    assert len(taken) == 1000
    with pytest.raises(synthetic.SerialsExhausted):
        book.take("360405150591")


def test_villages_must_come_grouped_by_district():
    codes = [SAMPLE[0], SAMPLE[2], SAMPLE[1]]
    with pytest.raises(ValueError, match="grouped by district"):
        list(synthetic.population(codes, 5))
