"""Letter numbers, Indonesian dates and masking of personal data."""
from datetime import UTC, date, datetime

import pytest

from services.common import clock
from services.common.letter_numbers import InvalidNumberFormat
from services.letters import domain


@pytest.mark.parametrize(("month", "roman"), [
    (1, "I"), (2, "II"), (3, "III"), (4, "IV"), (5, "V"), (6, "VI"), (7, "VII"), (8, "VIII"),
    (9, "IX"), (10, "X"), (11, "XI"), (12, "XII")])
def test_roman_months(month, roman):
    assert domain.roman_month(month) == roman


def test_roman_month_out_of_range():
    with pytest.raises(ValueError):
        domain.roman_month(13)


def test_default_number_format():
    number = domain.format_number(domain.DEFAULT_NUMBER_FORMAT, code="470", seq=7,
                                  short_code="2001", when=date(2026, 4, 3), type_code="domisili")
    assert number == "470/007/2001/IV/2026"


def test_sequence_wider_than_padding_is_kept_whole():
    number = domain.format_number(domain.DEFAULT_NUMBER_FORMAT, code="474.1", seq=1234,
                                  short_code="2001", when=date(2026, 12, 31), type_code="kelahiran")
    assert number == "474.1/1234/2001/XII/2026"


def test_village_specific_format():
    number = domain.format_number("{code}/{seq:04d}/DS-{short_code}/{month:02d}.{year}",
                                  code="300", seq=12, short_code="2005", when=date(2026, 2, 1),
                                  type_code="keramaian")
    assert number == "300/0012/DS-2005/02.2026"


@pytest.mark.parametrize("fmt", [
    "{code}/{bogus}/{seq}",          # unknown field
    "{code}/{year}",                 # no sequence: numbers would repeat
    "{code.__class__}/{seq}",        # attribute access
    "{code[0]}/{seq}",               # index access
    "{code}/{seq:03d",               # broken braces
    "{}/{seq}",                      # positional field
    "{code}/{seq:03d}/{month_roman}",  # no year: every January would repeat the last one's
])
def test_bad_number_formats_are_refused(fmt):
    with pytest.raises(InvalidNumberFormat):
        domain.format_number(fmt, code="470", seq=1, short_code="2001", when=date(2026, 1, 1),
                             type_code="domisili")


def test_counter_scope_follows_what_the_format_prints():
    default = domain.DEFAULT_NUMBER_FORMAT
    assert domain.counter_scope_key("village", default, "sktm", "401") == "village"
    # Per type without {type}: domicile, cover letter and loss all print 470, so they share one
    # series (a series per type gave all three 470/001/... in the same month).
    assert {domain.counter_scope_key("per_type", default, t, "470")
            for t in ("domisili", "pengantar", "kehilangan")} == {"code:470"}
    assert domain.counter_scope_key("per_type", default, "sktm", "401") == "code:401"
    with_type = "{type}/{code}/{seq:03d}/{year}"
    assert domain.counter_scope_key("per_type", with_type, "pengantar", "470") == "pengantar"
    assert domain.counter_scope_key("per_type", "{seq:04d}/DS/{year}", "sktm",
                                    "401") == "village"


def test_indonesian_date():
    assert domain.date_id(date(2023, 1, 19)) == "19 Januari 2023"
    assert domain.place_and_date("Serang", date(2023, 1, 19)) == "Serang, 19 Januari 2023"
    assert [domain.date_id(date(2024, m, 1)).split()[1] for m in range(1, 13)] == [
        "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
        "September", "Oktober", "November", "Desember"]


def test_local_date_is_jakarta():
    # 18 January 20:00 UTC is already 19 January 03:00 in Serang.
    assert clock.local_date(datetime(2023, 1, 18, 20, 0, tzinfo=UTC)) == date(2023, 1, 19)


def test_masking():
    assert domain.mask_name("Siti Aminah") == "S*** A*****"
    assert domain.mask_name("  Ahmad   Fauzi  Rahman ") == "A**** F**** R*****"
    assert domain.mask_nik("3604051201900001") == "3604********0001"
    masked = domain.mask_nik("TMP-3604052001-000001")
    assert masked.startswith("TMP-") and masked.endswith("0001") and "2001-" not in masked
    assert domain.mask_nik("1234") == "****"


def test_address_line():
    line = domain.address_line({"street": "Kp. Babakan", "rt": "1", "rw": "2",
                                "dusun": "Krajan"}, "Kramatwatu")
    assert line == "Kp. Babakan RT 001/RW 002, Dusun Krajan, Desa Kramatwatu"
    assert domain.address_line(None, "Kramatwatu") == "Desa Kramatwatu"
    assert domain.address_line({"dusun": "Dusun I", "rt": "1", "rw": "1"}, "Kramatwatu") == \
        "RT 001/RW 001, Dusun I, Desa Kramatwatu"
