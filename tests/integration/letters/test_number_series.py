"""Letter numbers never collide under any valid village setting (issue 7, items 1 and 10).

Three of the ten default types print 470; a series per type gave each of them 470/001/... in the
same month, and the second signing answered 409 for the rest of the month.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from services.common import clock
from services.common.errors import Unprocessable
from services.letters import catalogue, models
from services.letters.app import numbering, office, requests
from tests.integration.letters.conftest import OUTBOX, actor

pytestmark = pytest.mark.integration

# What each of the ten default types needs besides its subject.
REQUESTS = {
    "domisili": {},
    "sktm": {"fields": {"need": "sekolah"}},
    "usaha": {"fields": {"business_name": "Warung Berkah", "business_type": "Warung sembako",
                         "business_address": "Kp. Babakan RT 001/RW 002", "since": 2015}},
    "skck": {},
    "kelahiran": {"purpose": None, "fields": {
        "birth_time": "03:15", "delivery_place": "Puskesmas Kramatwatu",
        "reporter_name": "Mahmud", "reporter_relation": "Ayah"}},
    "kematian": {"purpose": None, "fields": {
        "death_date": "2026-03-02", "death_time": "04:30", "death_place": "Rumah",
        "cause": "Sakit", "reporter_name": "Siti Aminah", "reporter_relation": "Istri"}},
    "pindah": {"fields": {"destination_address": "Jl. Merdeka 1, Kota Serang",
                          "reason": "Pekerjaan"}},
    "pengantar": {},
    "kehilangan": {"fields": {"lost_item": "Dompet berisi KTP", "lost_date": "2026-03-01",
                              "lost_place": "Pasar Kramatwatu",
                              "circumstances": "Terjatuh saat berbelanja"}},
    "keramaian": {"fields": {"event_name": "Hajatan pernikahan", "event_date": "2026-12-20",
                             "event_time": "08:00", "event_place": "Kp. Babakan",
                             "entertainment": "Qasidah", "guests": 300}},
}
assert set(REQUESTS) == set(catalogue.TYPES)


def checked(world, code: str, type_code: str) -> str:
    """A checked letter of this type about a fitting (new) resident."""
    subject = world.resident(code, status="dead" if type_code == "kematian" else "alive")
    letter = world.request(code, subject["nik"], type_code, **REQUESTS[type_code])
    world.do(requests.change_status, OUTBOX, letter["id"], "check", code, actor("officer", code))
    return letter["id"]


def sign(world, code: str, letter_id: str) -> dict:
    return world.do(numbering.sign_letter, OUTBOX, letter_id, code, actor("head", code))


def seq_of(number: str) -> int:
    return int(number.split("/")[1])


def test_all_ten_types_per_type_scope(world):
    code = world.village(letter_number_scope="per_type")["code"]
    numbers = {t: sign(world, code, checked(world, code, t))["number"] for t in catalogue.TYPES}
    assert len(set(numbers.values())) == len(catalogue.TYPES)
    by_code = defaultdict(list)
    for type_code, number in numbers.items():
        by_code[catalogue.TYPES[type_code].classification_code].append(seq_of(number))
    # The three 470 types share one series: the rendered number is what must be unique.
    assert by_code == {"470": [1, 2, 3], "401": [1], "503": [1], "331": [1], "474.1": [1],
                       "474.3": [1], "475": [1], "300": [1]}


def test_all_ten_types_village_scope(world):
    code = world.village(letter_number_scope="village")["code"]
    numbers = [sign(world, code, checked(world, code, t))["number"] for t in catalogue.TYPES]
    assert [seq_of(n) for n in numbers] == list(range(1, len(catalogue.TYPES) + 1))


def test_per_type_with_the_type_in_the_format_counts_each_type(world):
    code = world.village(letter_number_format="{code}/{type}/{seq:03d}/{year}")["code"]
    numbers = [sign(world, code, checked(world, code, t))["number"]
               for t in ("domisili", "pengantar", "kehilangan", "domisili")]
    assert [n.split("/")[:3] for n in numbers] == [
        ["470", "domisili", "001"], ["470", "pengantar", "001"], ["470", "kehilangan", "001"],
        ["470", "domisili", "002"]]


def test_a_village_wide_series_when_the_format_prints_no_code(world):
    code = world.village(letter_number_scope="per_type",
                         letter_number_format="{seq:04d}/DS-{short_code}/{year}")["code"]
    numbers = [sign(world, code, checked(world, code, t))["number"]
               for t in ("domisili", "sktm", "skck")]
    assert [n.split("/")[0] for n in numbers] == ["0001", "0002", "0003"]


def test_a_reconfigured_type_code_never_reuses_a_number(world):
    """A village gives SKTM the code 470 mid-year: it joins 470's series."""
    from services.letters.app import letter_types

    code = world.village()["code"]
    first = sign(world, code, checked(world, code, "domisili"))["number"]
    world.do(letter_types.configure_letter_type, OUTBOX, code, "sktm",
             {"classification_code": "470"}, code, actor("officer", code))
    second = sign(world, code, checked(world, code, "sktm"))["number"]
    assert first.split("/")[:2] == ["470", "001"] and second.split("/")[:2] == ["470", "002"]


def test_scope_and_format_changes_mid_year_never_collide(world):
    village = world.village(letter_number_scope="per_type")
    code = village["code"]
    signed: list[str] = []

    def sign_types(*type_codes: str) -> list[str]:
        numbers = [sign(world, code, checked(world, code, t))["number"] for t in type_codes]
        signed.extend(numbers)
        return numbers

    assert [seq_of(n) for n in sign_types("domisili", "pengantar", "sktm")] == [1, 2, 1]
    # One series for the village from now on: it continues after the year's highest number.
    world.village(code=code, letter_number_scope="village")
    assert [seq_of(n) for n in sign_types("domisili", "sktm")] == [3, 4]
    # Back to per type: each code's series continues after what its letters already carry.
    world.village(code=code, letter_number_scope="per_type")
    assert [seq_of(n) for n in sign_types("pengantar", "sktm", "skck")] == [4, 5, 1]
    # A new format without the month: same series, numbers keep rising, nothing reprinted.
    world.village(code=code, letter_number_format="{code}/{seq:03d}/{short_code}/{year}")
    assert [seq_of(n) for n in sign_types("kehilangan", "skck")] == [5, 2]
    # A format whose numbers could equal old ones ({seq} first, no code): the village series
    # starts after everything this year and skips nothing it does not have to.
    world.village(code=code, letter_number_format="{seq:03d}/{short_code}/{year}")
    assert [int(n.split("/")[0]) for n in sign_types("domisili", "usaha")] == [6, 7]
    assert len(set(signed)) == len(signed) == 12


def test_a_format_change_that_reprints_an_old_number_skips_it(world):
    """The last line of defence: a number already printed is never given again, even when a
    format change makes the new format print an old number's exact text."""
    code = world.village(letter_number_scope="village",
                         letter_number_format="{seq:03d}/{year}/A")["code"]
    first = sign(world, code, checked(world, code, "domisili"))["number"]  # 001/YYYY/A
    world.session.execute(sa.delete(models.NumberCounter).where(
        models.NumberCounter.village_code == code))  # as if the series were new this year
    world.session.execute(sa.update(models.Letter).where(models.Letter.village_code == code)
                          .values(number_seq=None))
    world.session.commit()
    second = sign(world, code, checked(world, code, "sktm"))["number"]
    assert first.startswith("001/") and second.startswith("002/")


def test_formats_without_a_year_are_refused_and_consume_no_number(world):
    code = world.village(letter_number_format="{code}/{seq:03d}/{short_code}/{month_roman}")[
        "code"]
    letter = checked(world, code, "domisili")
    with pytest.raises(Unprocessable) as err:
        sign(world, code, letter)
    assert "letter_number_format" in err.value.fields
    assert world.count(models.NumberCounter.__table__, village_code=code) == 0


def test_concurrent_signings_across_types_in_one_village_and_month(world, rpc):
    """Two service processes sign 60 letters of six types at once, three of them sharing 470:
    every number distinct, each series consecutive, and the register lists every series in
    number order (the signing time is read after the counter lock)."""
    code = world.village()["code"]
    type_codes = ["domisili", "pengantar", "kehilangan", "sktm", "skck", "keramaian"] * 10
    ids = [checked(world, code, t) for t in type_codes]
    head = actor("head", code)
    pending = [rpc.letters.sign_letter.call_async(letter_id, code, head) for letter_id in ids]
    numbers = [reply.result()["number"] for reply in pending]

    assert len(set(numbers)) == len(numbers)
    series = defaultdict(list)
    for number in numbers:
        series[number.split("/")[0]].append(seq_of(number))
    assert {key: sorted(seqs) for key, seqs in series.items()} == {
        "470": list(range(1, 31)), "401": list(range(1, 11)), "331": list(range(1, 11)),
        "300": list(range(1, 11))}

    today = clock.local_date(datetime.now(UTC)).isoformat()
    rows = world.do(office.letter_register, code, today, today, code)
    in_register = defaultdict(list)
    for row in rows:
        in_register[row["classification_code"]].append(seq_of(row["number"]))
    assert {key: seqs for key, seqs in in_register.items()} == {
        key: sorted(seqs) for key, seqs in series.items()}
