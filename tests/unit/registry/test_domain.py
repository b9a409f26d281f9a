"""Registry rules: NIK, No. KK, temporary numbers, SHDK and life-event status changes."""
from __future__ import annotations

from datetime import date

import pytest

from services.registry import domain, identity
from services.registry.reference import district_prefixes

TODAY = date(2026, 4, 15)
KNOWN = {"360405", "360401"}


class TestNik:
    def test_man_parsed(self):
        parsed = identity.parse_nik("3604051208909001", known_districts=KNOWN, today=TODAY)
        assert parsed.district_code == "360405"
        assert parsed.birth_date == date(1990, 8, 12)
        assert parsed.sex == domain.MALE
        assert parsed.serial == "9001"
        assert parsed.warnings == ()

    def test_woman_has_day_plus_40(self):
        parsed = identity.parse_nik("3604055208909002", today=TODAY)
        assert parsed.sex == domain.FEMALE
        assert parsed.birth_date == date(1990, 8, 12)

    def test_woman_born_on_the_31st(self):
        assert identity.parse_nik("3604057101009003", today=TODAY).birth_date == date(2000, 1, 31)

    def test_two_digit_year_takes_the_latest_century_not_in_the_future(self):
        assert identity.parse_nik("3604050101259001", today=TODAY).birth_date == date(2025, 1, 1)
        assert identity.parse_nik("3604050101279001", today=TODAY).birth_date == date(1927, 1, 1)

    @pytest.mark.parametrize("nik", ["360405120890900", "36040512089090011", "36040512O8909001",
                                     "", " 3604051208909001"])
    def test_must_be_16_digits(self, nik):
        with pytest.raises(identity.InvalidNik, match="16 digits"):
            identity.parse_nik(nik, today=TODAY)

    @pytest.mark.parametrize("nik,reason", [
        ("3604053002909001", "not a real date"),   # 30 February
        ("3604057002909001", "not a real date"),   # woman, 30 February
        ("3604052902919001", "not a real date"),   # 29 February 1991
        ("3604051213909001", "not a month"),
        ("3604050001909001", "not a day"),
        ("3604053501909001", "not a day"),          # 35: neither a man's nor a woman's day
        ("3604057201909001", "not a day"),          # 72 - 40 = 32
    ])
    def test_invalid_dates(self, nik, reason):
        with pytest.raises(identity.InvalidNik, match=reason):
            identity.parse_nik(nik, today=TODAY)

    def test_leap_day(self):
        assert identity.parse_nik("3604056902009001", today=TODAY).birth_date == date(2000, 2, 29)

    def test_serial_0000_refused(self):
        with pytest.raises(identity.InvalidNik, match="0000"):
            identity.parse_nik("3604051208900000", today=TODAY)

    def test_unknown_district_prefix_is_a_warning_not_a_refusal(self):
        parsed = identity.parse_nik("9999991208909001", known_districts=KNOWN, today=TODAY)
        assert parsed.birth_date == date(1990, 8, 12)
        assert len(parsed.warnings) == 1 and "999999" in parsed.warnings[0]

    def test_reference_districts_include_serang_and_not_nonsense(self):
        prefixes = district_prefixes()
        assert "360405" in prefixes and "999999" not in prefixes
        assert len(prefixes) > 7000

    def test_sex_must_match_the_day(self):
        with pytest.raises(identity.NikSexMismatch) as caught:
            identity.check_nik("3604055208909002", sex=domain.MALE, today=TODAY)
        assert caught.value.field == "sex"
        with pytest.raises(identity.NikSexMismatch):
            identity.check_nik("3604051208909001", sex=domain.FEMALE, today=TODAY)
        assert identity.check_nik("3604055208909002", sex=domain.FEMALE, today=TODAY).sex == "P"

    def test_birth_date_must_agree_with_the_nik(self):
        with pytest.raises(identity.BirthDateMismatch) as caught:
            identity.check_nik("3604051208909001", sex="L", birth_date=date(1990, 8, 13),
                             today=TODAY)
        assert caught.value.field == "birth_date"
        # Only DDMMYY is in the NIK, so 1890 and 1990 both agree with "900812".
        parsed = identity.check_nik("3604051208909001", birth_date=date(1990, 8, 12), today=TODAY)
        assert identity.birth_date_agrees(parsed, date(1990, 8, 12))

    def test_record_warnings(self):
        assert identity.record_warnings("3604051208909001", birth_date=date(1990, 8, 12),
                                      known_districts=KNOWN) == []
        warnings = identity.record_warnings("3604051208909001", birth_date=date(1990, 8, 13),
                                          known_districts=KNOWN)
        assert warnings == ["birth date differs from the NIK date part (corrected birth date?)"]
        assert "temporary" in identity.record_warnings("TMP-3604052001-000001", birth_date=None,
                                                     known_districts=KNOWN)[0]


class TestTemporaryNumbers:
    def test_format_and_round_trip(self):
        number = identity.temporary_number("36.04.05.2001", 1)
        assert number == "TMP-3604052001-000001"
        assert identity.is_temporary_number(number)
        assert identity.parse_temporary_number(number) == ("36.04.05.2001", 1)

    def test_never_mistaken_for_a_nik(self):
        number = identity.temporary_number("36.04.05.2001", 999_999)
        assert not number.isdigit() and len(number) != 16
        assert not identity.is_temporary_number("3604051208909001")
        with pytest.raises(identity.InvalidNik):
            identity.parse_nik(number)

    @pytest.mark.parametrize("code,serial", [("36.04.05", 1), ("36.04.05.2001", 0),
                                             ("36.04.05.2001", 1_000_000)])
    def test_bad_inputs(self, code, serial):
        with pytest.raises(identity.InvalidTemporaryNumber):
            identity.temporary_number(code, serial)


class TestFamilyNumber:
    def test_parsed(self):
        parsed = identity.parse_family_number("3604051503159001", known_districts=KNOWN,
                                            today=TODAY)
        assert parsed.district_code == "360405"
        assert parsed.registered_on == date(2015, 3, 15)
        assert parsed.warnings == ()

    @pytest.mark.parametrize("number,reason", [
        ("360405150315900", "16 digits"),
        ("3604053002159001", "not a real date"),
        ("3604051513159001", "not a real date"),
        ("3604051503150000", "0000"),
        ("3604055503159001", "not a real date"),  # no +40 on a family card
    ])
    def test_refused(self, number, reason):
        with pytest.raises(identity.InvalidFamilyNumber, match=reason):
            identity.parse_family_number(number, today=TODAY)

    @pytest.mark.parametrize("number", ["3604051605269001", "3604051505609001"])
    def test_registration_date_must_be_plausible(self, number):
        # 16-05-26 is tomorrow (or 1926); 15-05-60 is 1960: before family cards existed.
        with pytest.raises(identity.InvalidFamilyNumber, match="plausible"):
            identity.parse_family_number(number, today=date(2026, 5, 15))

    def test_unknown_prefix_warns(self):
        parsed = identity.parse_family_number("9999991503159001", known_districts=KNOWN,
                                            today=TODAY)
        assert parsed.warnings


class TestRelationships:
    def test_codes_and_names(self):
        assert len(domain.RELATIONSHIPS) == 11
        assert domain.relationship_name(1) == "Kepala Keluarga"
        assert domain.relationship_name(4) == "Anak"
        assert domain.relationship_code("istri") == 3
        assert domain.relationship_code("11") == 11

    @pytest.mark.parametrize("value", [0, 12, "Sepupu", None])
    def test_unknown(self, value):
        with pytest.raises(domain.UnknownRelationship):
            domain.relationship_code(value)


class TestStatusTransitions:
    @pytest.mark.parametrize("current,event,after", [
        ("alive", "death", "dead"),
        ("missing", "death", "dead"),
        ("alive", "move_out", "moved_out"),
        ("missing", "move_out", "moved_out"),
        ("moved_out", "move_in", "alive"),
        ("alive", "missing", "missing"),
        ("alive", "birth", "alive"),
    ])
    def test_allowed(self, current, event, after):
        assert domain.status_after(current, event) == after

    @pytest.mark.parametrize("current,event,error", [
        ("dead", "death", domain.ResidentAlreadyDead),
        ("dead", "move_in", domain.ResidentAlreadyDead),
        ("dead", "birth", domain.ResidentAlreadyDead),
        ("alive", "move_in", domain.ResidentNotMovedOut),
        ("missing", "move_in", domain.ResidentNotMovedOut),
        ("moved_out", "move_out", domain.ResidentAlreadyMovedOut),
        ("moved_out", "death", domain.ResidentNotPresent),
        ("moved_out", "missing", domain.ResidentNotPresent),
        ("missing", "missing", domain.ResidentAlreadyMissing),
        ("missing", "birth", domain.ResidentNotPresent),
    ])
    def test_refused(self, current, event, error):
        with pytest.raises(error):
            domain.status_after(current, event)

    def test_dead_and_moved_out_are_not_alive(self):
        assert domain.status_after("alive", "death") != domain.ALIVE
        assert domain.status_after("alive", "move_out") != domain.ALIVE

    def test_unknown_event(self):
        with pytest.raises(domain.InvalidLifeEvent):
            domain.status_after("alive", "marriage")

    def test_event_dates(self):
        domain.check_event_dates(date(2026, 4, 1), date(2026, 4, 2), TODAY)
        with pytest.raises(domain.RegistryRuleError) as caught:
            domain.check_event_dates(date(2026, 4, 16), date(2026, 4, 16), TODAY)
        assert caught.value.field == "date"
        with pytest.raises(domain.RegistryRuleError) as caught:
            domain.check_event_dates(date(2026, 4, 10), date(2026, 4, 9), TODAY)
        assert caught.value.field == "reported_at"
