"""Businesses, organisations, tourism sites, resources, follow-ups, search and regency counts
against real PostgreSQL, at the application level."""
from __future__ import annotations

import uuid

import pytest

from services.common.errors import Conflict, Forbidden, NotFound, Unprocessable, ValidationFailed
from services.potential.app import (
    businesses,
    catalogue,
    followups,
    organisations,
    publications,
    resources,
    tourism,
)
from tests.integration.potential.conftest import (
    OUTBOX,
    business_data,
    new_village,
    resident,
    staff,
)

pytestmark = pytest.mark.integration


def test_a_business_is_classed_by_pp_7_2021_and_its_changes_are_events(potential):
    village = new_village()
    officer = staff("officer", village)
    owner = potential.resident(village)
    made = potential(businesses.register, OUTBOX, village, business_data(owner["nik"]),
                     village, officer)
    assert made["size_class"] == "micro" and made["owner_nik"] == owner["nik"]
    assert made["owner_name"] == "Siti Contoh" and made["address"]["rt"] == "001"
    changed = potential(businesses.change, OUTBOX, made["id"],
                        {"yearly_sales": 20_000_000_000}, village, officer)
    assert changed["size_class"] == "medium"  # sales above Rp15 M: the larger class wins
    assert potential.events(village) == ["business.registered", "business.updated"]
    payload = potential.payloads(village, "business.updated")[0]
    assert payload["yearly_sales"] == 20_000_000_000 and payload["id"] == made["id"]
    read = potential(businesses.get, made["id"], None)  # the regency reads every village
    assert read == changed


@pytest.mark.parametrize("status, message", [("dead", "living"), ("moved_out", "living")])
def test_the_owner_must_be_a_living_resident_of_the_village(potential, status, message):
    village = new_village()
    officer = staff("officer", village)
    gone = potential.resident(village, status=status)
    elsewhere = potential.resident(new_village())
    for nik in (gone["nik"], elsewhere["nik"], resident(village)["nik"]):  # last: never heard of
        with pytest.raises(Unprocessable) as refused:
            potential(businesses.register, OUTBOX, village, business_data(nik), village, officer)
        assert "owner_nik" in refused.value.fields
    assert potential.count("businesses", village_code=village) == 0
    assert potential.events(village) == []


@pytest.mark.parametrize("change, field", [
    ({"sector": "astrologi"}, "sector"),
    ({"certifications": ["halal", "sakti"]}, "certifications"),
    ({"status": "bankrupt"}, "status"),
    ({"capital": 1.5}, "capital"),
    ({"capital": "100"}, "capital"),
    ({"latitude": 10.0, "longitude": 106.0}, "latitude"),
    ({"latitude": -6.1, "longitude": 150.0}, "longitude"),
    ({"latitude": -6.1, "longitude": None}, "longitude"),
    ({"nib": "12"}, "nib"),
])
def test_bad_business_input_is_400_naming_the_field_and_changes_nothing(potential, change,
                                                                        field):
    village = new_village()
    owner = potential.resident(village)
    with pytest.raises(ValidationFailed) as refused:
        potential(businesses.register, OUTBOX, village, business_data(owner["nik"], **change),
                  village, staff("officer", village))
    assert field in refused.value.fields
    assert potential.count("businesses", village_code=village) == 0


def test_a_place_far_from_the_village_reference_point_is_flagged(potential):
    village = new_village()
    officer = staff("head", village)
    owner = potential.resident(village)
    near = potential(businesses.register, OUTBOX, village, business_data(owner["nik"]),
                     village, officer)
    assert near["location_warnings"] == []  # no reference point yet: nothing to compare with
    potential(publications.change_profile, OUTBOX, village,
              {"latitude": -6.12, "longitude": 106.25}, village, officer)
    far = potential(businesses.register, OUTBOX, village,
                    business_data(owner["nik"], latitude=-6.9, longitude=107.6), village,
                    officer)
    assert far["location_warnings"] == ["far_from_village"]
    site = potential(tourism.create, OUTBOX, village, {
        "name": "Curug", "category": "alam", "development_class": "rintisan",
        "latitude": -6.13, "longitude": 106.26}, village, officer)
    assert site["location_warnings"] == []


def test_another_villages_staff_never_reach_its_rows(potential):
    village, other = new_village(), new_village()
    owner = potential.resident(village)
    made = potential(businesses.register, OUTBOX, village, business_data(owner["nik"]),
                     village, staff("officer", village))
    intruder = staff("officer", other)
    with pytest.raises(NotFound):
        potential(businesses.get, made["id"], other)
    with pytest.raises(NotFound):
        potential(businesses.change, OUTBOX, made["id"], {"name": "X"}, other, intruder)
    with pytest.raises(NotFound):
        potential(businesses.list_village, village, {}, other)
    with pytest.raises(NotFound):
        potential(businesses.get, str(uuid.uuid4()), None)
    with pytest.raises(NotFound):
        potential(businesses.get, "not-a-uuid", None)
    with pytest.raises(Forbidden):  # a treasurer reads but does not write
        potential(businesses.change, OUTBOX, made["id"], {"name": "X"}, village,
                  staff("treasurer", village))


def test_lists_filter_by_sector_size_dusun_and_name(potential):
    village = new_village()
    officer = staff("officer", village)
    owner = potential.resident(village)
    for name, sector, dusun, sales in (("Warung Sate Pak Udin", "kuliner", "Krajan", 10**8),
                                       ("Bengkel Jaya", "jasa", "Pasir", 3 * 10**9),
                                       ("Batik Serang", "fashion", "Krajan", 10**8)):
        potential(businesses.register, OUTBOX, village, business_data(
            owner["nik"], name=name, sector=sector, yearly_sales=sales,
            address={"dusun": dusun}), village, officer)

    def names(**query):
        return [b["name"] for b in potential(businesses.list_village, village, query,
                                             village)["items"]]

    assert names() == ["Batik Serang", "Bengkel Jaya", "Warung Sate Pak Udin"]
    assert names(sector="kuliner") == ["Warung Sate Pak Udin"]
    assert names(size_class="small") == ["Bengkel Jaya"]
    assert names(dusun="krajan") == ["Batik Serang", "Warung Sate Pak Udin"]
    assert names(q="sate") == ["Warung Sate Pak Udin"]
    assert names(q="100%") == []
    with pytest.raises(ValidationFailed) as refused:
        names(size_class="giant")
    assert "size_class" in refused.value.fields


def test_organisations_tourism_and_resources_are_recorded_with_their_events(potential):
    village = new_village()
    officer = staff("secretary", village)
    chair = potential.resident(village, name="Ibu Ketua")
    org = potential(organisations.create, OUTBOX, village, {
        "type": "pkk", "name": "TP PKK Desa", "decree_number": "141/12/2025",
        "decree_date": "2025-01-10", "chair_nik": chair["nik"],
        "officers": [{"nik": chair["nik"], "position": "Ketua"}],
        "members_male": 0, "members_female": 40}, village, officer)
    assert org["type"] == "PKK" and org["chair_name"] == "Ibu Ketua"
    changed = potential(organisations.change, OUTBOX, org["id"], {"members_female": 45},
                        village, officer)
    assert changed["members_female"] == 45
    with pytest.raises(ValidationFailed) as refused:
        potential(organisations.create, OUTBOX, village, {"type": "Arisan", "name": "X"},
                  village, officer)
    assert "type" in refused.value.fields

    site = potential(tourism.create, OUTBOX, village, {
        "name": "Pantai Anyer Kecil", "category": "alam", "development_class": "berkembang",
        "description": "Pantai berpasir putih dengan perahu nelayan", "ticket_price": 10000,
        "facilities": ["toilet", "mushola"]}, village, officer)
    assert site["development_class"] == "berkembang"
    with pytest.raises(ValidationFailed) as refused:
        potential(tourism.create, OUTBOX, village, {
            "name": "X", "category": "alam", "development_class": "legendaris"}, village,
            officer)
    assert "development_class" in refused.value.fields

    rice = potential(resources.create, OUTBOX, village, {
        "kind": "commodity", "name": "Padi sawah", "quantity": 1250.5, "unit": "ton",
        "year": 2025}, village, officer)
    potential(resources.create, OUTBOX, village, {
        "kind": "livestock", "name": "Kambing", "quantity": 300, "unit": "ekor",
        "year": 2024}, village, officer)
    with pytest.raises(ValidationFailed) as refused:
        potential(resources.create, OUTBOX, village, {
            "kind": "livestock", "name": "Sapi", "quantity": 3, "unit": "ha", "year": 2025},
            village, officer)
    assert "unit" in refused.value.fields
    listed = potential(resources.list_village, village, {"kind": "commodity", "year": 2025},
                       village)
    assert [r["id"] for r in listed["items"]] == [rice["id"]]
    assert listed["items"][0]["quantity"] == 1250.5
    potential(resources.remove, OUTBOX, rice["id"], village, officer)
    assert potential.events(village) == [
        "organisation.updated", "organisation.updated", "tourism_site.updated",
        "resource.updated", "resource.updated", "resource.removed"]


def test_a_death_puts_business_and_organisation_on_follow_up_once(potential):
    village = new_village()
    officer = staff("officer", village)
    owner = potential.resident(village, name="Pak Udin")
    other = potential.resident(village)
    business = potential(businesses.register, OUTBOX, village, business_data(owner["nik"]),
                         village, officer)
    org = potential(organisations.create, OUTBOX, village, {
        "type": "Karang Taruna", "name": "Karang Taruna Tunas", "chair_nik": other["nik"],
        "officers": [{"nik": owner["nik"], "position": "Bendahara"}]}, village, officer)
    potential(organisations.create, OUTBOX, village, {"type": "RT", "name": "RT 001"},
              village, officer)
    died = {**owner, "status": "dead"}
    for _ in range(2):  # a redelivered (or republished) event changes nothing
        potential(followups.apply_life_event, OUTBOX, died)
    page = potential(followups.list_village, village, {}, village)
    assert page["total"] == 2
    found = {(f["subject_kind"], f["subject_id"]): f for f in page["items"]}
    assert found[("business", business["id"])]["roles"] == ["owner"]
    assert found[("organisation", org["id"])]["roles"] == ["officer"]
    assert all(f["reason"] == "died" and f["person_name"] == "Pak Udin"
               for f in page["items"])
    assert potential.events(village).count("follow_up.opened") == 2

    first = page["items"][0]["id"]
    resolved = potential(followups.resolve, OUTBOX, first, {"resolution": "Diteruskan anak"},
                         village, officer)
    assert resolved["resolved_at"] is not None
    with pytest.raises(Conflict):
        potential(followups.resolve, OUTBOX, first, {"resolution": "lagi"}, village, officer)
    with pytest.raises(NotFound):
        potential(followups.resolve, OUTBOX, page["items"][1]["id"], {"resolution": "x"},
                  new_village(), staff("officer", "36.04.11.9999"))
    assert potential(followups.list_village, village, {}, village)["total"] == 1
    assert potential(followups.list_village, village, {"status": "resolved"},
                     village)["total"] == 1

    potential(followups.apply_life_event, OUTBOX, {**other, "status": "moved_out"})
    chair = potential(followups.list_village, village, {}, village)["items"]
    assert [(f["roles"], f["reason"]) for f in chair if f["nik"] == other["nik"]] == [
        (["chair"], "moved_out")]


def test_public_views_carry_no_nik_and_no_owner_money(potential):
    village = new_village()
    officer = staff("officer", village)
    owner = potential.resident(village)
    potential(businesses.register, OUTBOX, village, business_data(owner["nik"]), village,
              officer)
    closed = potential(businesses.register, OUTBOX, village,
                       business_data(owner["nik"], name="Toko Tutup", status="closed"),
                       village, officer)
    potential(organisations.create, OUTBOX, village, {
        "type": "BPD", "name": "BPD Desa", "chair_nik": owner["nik"],
        "officers": [{"nik": owner["nik"], "position": "Ketua"}]}, village, officer)
    public = potential(businesses.list_public, village, {})
    assert [b["name"] for b in public["items"]] == ["Keripik Emping Bu Siti"]
    orgs = potential(organisations.list_public, village, {})
    text = repr(public) + repr(orgs)
    assert owner["nik"] not in text
    for hidden in ("owner_nik", "capital", "yearly_sales", "'rt'", "chair_nik", "'nik'"):
        assert hidden not in text
    assert orgs["items"][0]["chair_name"] == "Siti Contoh"
    assert orgs["items"][0]["officers"] == [{"name": "Siti Contoh", "position": "Ketua"}]
    hits = potential(catalogue.search, {"q": "toko tutup"})
    assert closed["id"] not in [h["id"] for h in hits["items"]]


def test_search_across_villages_by_word_type_sector_and_district(potential):
    word = f"zq{uuid.uuid4().hex[:6]}"  # a word no other test's data contains
    here, there = new_village(), "36.04.12.2001"
    for village in (here, there):
        officer = staff("officer", village)
        owner = potential.resident(village)
        potential(businesses.register, OUTBOX, village, business_data(
            owner["nik"], name=f"Kopi {word}", description=f"Kopi robusta {word}an"),
            village, officer)
        potential(tourism.create, OUTBOX, village, {
            "name": "Bukit Sunset", "category": "alam", "development_class": "maju",
            "description": f"Bukit dengan pemandangan {word} matahari terbenam"},
            village, officer)

    def found(**query):
        page = potential(catalogue.search, {"q": word, **query})
        return sorted((h["type"], h["village_code"]) for h in page["items"]), page["total"]

    assert found()[1] == 4
    assert found(type="tourism_site")[0] == [("tourism_site", here), ("tourism_site", there)]
    assert found(district_code="36.04.12")[0] == [("business", there), ("tourism_site", there)]
    assert found(sector="kuliner")[1] == 2
    assert potential(catalogue.search, {"q": f"{word} matahari"})["total"] == 2
    assert potential(catalogue.search, {"q": f"{word} laut"})["total"] == 0
    for bad in ({"type": "person"}, {"district_code": "36.04"}, {"sector": "x"}):
        with pytest.raises(ValidationFailed) as refused:
            potential(catalogue.search, bad)
        assert set(bad) <= set(refused.value.fields)


def test_search_matches_word_beginnings_and_pages_alike_however_many_match(potential,
                                                                           monkeypatch):
    word = f"zq{uuid.uuid4().hex[:6]}"
    village = new_village()
    officer = staff("officer", village)
    owner = potential.resident(village)
    for n in range(7):
        potential(businesses.register, OUTBOX, village, business_data(
            owner["nik"], name=f"Jahitan {word} {n}", description=f"Keripik-{word}x rumahan"),
            village, officer)

    def search(q: str, **query) -> dict:
        return potential(catalogue.search, {"q": q, **query})

    assert search(f"{word} jahit")["total"] == 7  # a word's beginning, in any order
    assert search(f"JAHITAN, {word}!")["total"] == 7  # case and punctuation do not matter
    assert search(f"{word}x keripik")["total"] == 7  # the parts of a hyphenated word
    assert search(f"ahitan {word}")["total"] == 0  # the middle of a word is no beginning
    assert search("!!! ***") == {"items": [], "total": 0, "page": 1, "per_page": 20}
    sorted_pages = [search(word, per_page=3, page=page)["items"] for page in (1, 2, 3, 4)]
    monkeypatch.setattr(catalogue, "BROAD_MATCHES", 1)  # as if most entries had the word
    walked_pages = [search(word, per_page=3, page=page)["items"] for page in (1, 2, 3, 4)]
    assert walked_pages == sorted_pages
    assert [len(items) for items in sorted_pages] == [3, 3, 1, 0]
    assert [h["name"] for items in sorted_pages for h in items] == [
        f"Jahitan {word} {n}" for n in range(7)]


def test_regency_counts_by_district_sector_and_size_class(potential):
    before = {row["key"]: row for row in potential(catalogue.regency, {"by": "district"})}
    village = "36.04.13.2001"
    villages_before = {row["key"]: row for row in potential(catalogue.regency,
                                                            {"by": "village"})}
    officer = staff("officer", village)
    owner = potential.resident(village)
    potential(businesses.register, OUTBOX, village, business_data(owner["nik"]), village,
              officer)
    potential(tourism.create, OUTBOX, village, {"name": "Situ", "category": "alam",
                                                "development_class": "rintisan"},
              village, officer)
    after = {row["key"]: row for row in potential(catalogue.regency, {"by": "district"})}
    old = before.get("36.04.13", {"businesses": 0, "tourism_sites": 0})
    assert after["36.04.13"]["businesses"] == old["businesses"] + 1
    assert after["36.04.13"]["tourism_sites"] == old["tourism_sites"] + 1
    # By village: the same counts one level down, and they add up to the district's.
    villages = {row["key"]: row for row in potential(catalogue.regency, {"by": "village"})}
    mine = villages_before.get(village, {"businesses": 0, "tourism_sites": 0})
    assert villages[village]["businesses"] == mine["businesses"] + 1
    assert villages[village]["tourism_sites"] == mine["tourism_sites"] + 1
    for name in ("businesses", "tourism_sites", "organisations"):
        assert sum(row[name] for key, row in villages.items()
                   if key.startswith("36.04.13.")) == after["36.04.13"][name]
    sectors = {row["key"]: row["businesses"] for row in
               potential(catalogue.regency, {"by": "sector"})}
    assert sectors["kuliner"] >= 1
    with pytest.raises(ValidationFailed):
        potential(catalogue.regency, {"by": "religion"})
