"""Synthetic people for tests: NIKs and KK numbers valid in form, clearly fake, never real.

A fake NIK is `<district><DDMMYY, women day + 40><serial>` with a serial from 9000 up: the 9xxx
serial marks it as made up. Serials count per date-and-district prefix, so a run never repeats a
number (each run has its own databases) and never runs past four digits by accident.
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, timedelta

FIRST_SERIAL, LAST_SERIAL = 9000, 9999
_serials: defaultdict[str, itertools.count] = defaultdict(lambda: itertools.count(FIRST_SERIAL))
_births = itertools.count()
_registrations = itertools.count()


def _with_serial(prefix: str) -> str:
    serial = next(_serials[prefix])
    if serial > LAST_SERIAL:
        raise RuntimeError(f"more than 1000 fake numbers for {prefix}: spread the dates")
    return f"{prefix}{serial:04d}"


def fake_nik(birth: date, sex: str, district: str = "360405") -> str:
    day = birth.day + (40 if sex == "P" else 0)
    return _with_serial(f"{district}{day:02d}{birth:%m%y}")


_FIRST_BIRTH, _LAST_BIRTH = date(1951, 1, 1), date(2005, 12, 31)


def fake_birth_date() -> date:
    """A different adult's birth date on each call (1951 to 2005, a few days apart). The dates
    wrap around after about 4,000 calls, so a long run never gets a child or a future date; the
    NIK serial (per date) keeps the numbers apart."""
    span = (_LAST_BIRTH - _FIRST_BIRTH).days + 1
    return _FIRST_BIRTH + timedelta(days=(next(_births) * 5) % span)


def fake_family_number(district: str = "360405") -> str:
    """A No. KK: district, registration date DDMMYY, a 9xxx serial."""
    registered = date(2015, 1, 1) + timedelta(days=next(_registrations) % 3000)
    return _with_serial(f"{district}{registered:%d%m%y}")


def fake_person_nik(sex: str = "L", district: str = "360405") -> tuple[str, str]:
    """(nik, ISO birth date) of a new synthetic person."""
    born = fake_birth_date()
    return fake_nik(born, sex, district), born.isoformat()
