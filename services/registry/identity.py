"""Identity numbers: NIK, No. KK and temporary village numbers, their form and what they say.

Pure Python: no nameko, no SQL. Every refusal is a named exception carrying the field it is
about (a RegistryRuleError, HTTP 400 at the gateway).
"""
from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from services.common import rules
from services.common.clock import local_today
from services.registry.domain import FEMALE, MALE, RegistryRuleError

FEMALE_DAY_OFFSET = 40
EARLIEST_FAMILY_REGISTRATION = date(1971, 1, 1)
TEMPORARY_PREFIX = "TMP"
_TEMPORARY_RE = re.compile(r"^TMP-(\d{10})-(\d{6})$")
_SIXTEEN_DIGITS = re.compile(r"^\d{16}$")
# The warnings of a stored record (record_warnings; the CSV import writes them in SQL too).
TEMPORARY_WARNING = "temporary village number: no NIK issued by Dukcapil yet"
DISTRICT_WARNING = ("NIK district prefix {district} is not a known district code (old codes "
                    "exist; check the card)")
BIRTH_DATE_WARNING = "birth date differs from the NIK date part (corrected birth date?)"


class InvalidNik(RegistryRuleError):
    field = "nik"


class NikSexMismatch(InvalidNik):
    """The day of the NIK says one sex (women have day + 40), the record says the other."""

    field = "sex"


class BirthDateMismatch(RegistryRuleError):
    field = "birth_date"


class InvalidFamilyNumber(RegistryRuleError):
    field = "number"


class NikNeverChanges(rules.Refused):
    """Only a temporary village number is replaced by the issued NIK, once."""

    field = "nik"


class InvalidTemporaryNumber(RegistryRuleError):
    field = "nik"


# -- NIK -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParsedNik:
    """What a NIK (Nomor Induk Kependudukan) says about its holder."""

    nik: str
    district_code: str  # six digits, where the NIK was first issued
    birth_date: date  # century guessed: the latest date not after `today`
    sex: str
    serial: str
    warnings: tuple[str, ...] = field(default=())

    @property
    def date_part(self) -> tuple[int, int, int]:
        """(day, month, two-digit year) exactly as written, the day without the +40."""
        return self.birth_date.day, self.birth_date.month, self.birth_date.year % 100


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _guess_century(day: int, month: int, yy: int, today: date) -> date | None:
    """Two-digit years: the most recent century that does not put the date in the future."""
    for century in (2000, 1900):
        candidate = _real_date(century + yy, month, day)
        if candidate is not None and candidate <= today:
            return candidate
    # 29 February of a year that is a leap year only in the other century, or a future date
    return _real_date(2000 + yy, month, day) or _real_date(1900 + yy, month, day)


def parse_nik(nik: str, *, known_districts: Collection[str] | None = None,
              today: date | None = None) -> ParsedNik:
    """Check the form of a NIK and read its parts. An unknown district prefix is a warning."""
    today = today or local_today()
    if not isinstance(nik, str) or not _SIXTEEN_DIGITS.match(nik):
        raise InvalidNik("NIK must be exactly 16 digits")
    district, day, month, yy, serial = nik[:6], int(nik[6:8]), int(nik[8:10]), int(nik[10:12]), \
        nik[12:]
    sex = MALE
    if day > FEMALE_DAY_OFFSET:
        sex = FEMALE
        day -= FEMALE_DAY_OFFSET
    if not 1 <= month <= 12:
        raise InvalidNik(f"NIK month {nik[8:10]} is not a month")
    if not 1 <= day <= 31:
        raise InvalidNik(f"NIK day {nik[6:8]} is not a day (women have day + 40: 41-71)")
    birth_date = _guess_century(day, month, yy, today)
    if birth_date is None:
        raise InvalidNik(f"NIK date {nik[6:12]} is not a real date")
    if serial == "0000":
        raise InvalidNik("NIK serial (last 4 digits) cannot be 0000")
    warnings = []
    if known_districts is not None and district not in known_districts:
        warnings.append(DISTRICT_WARNING.format(district=district))
    return ParsedNik(nik=nik, district_code=district, birth_date=birth_date, sex=sex,
                     serial=serial, warnings=tuple(warnings))


def birth_date_agrees(parsed: ParsedNik, birth_date: date) -> bool:
    """The NIK carries DDMMYY only, so the recorded birth date must match day, month and YY."""
    return parsed.date_part == (birth_date.day, birth_date.month, birth_date.year % 100)


def check_nik(nik: str, *, sex: str | None = None, birth_date: date | None = None,
              known_districts: Collection[str] | None = None,
              today: date | None = None) -> ParsedNik:
    """Every NIK rule for a new record: form, date, serial, sex and birth date agreement."""
    parsed = parse_nik(nik, known_districts=known_districts, today=today)
    if sex is not None and sex != parsed.sex:
        implied = "female (day + 40)" if parsed.sex == FEMALE else "male"
        raise NikSexMismatch(f"sex {sex} does not match the NIK, whose day says {implied}")
    if birth_date is not None and not birth_date_agrees(parsed, birth_date):
        raise BirthDateMismatch(
            f"birth date {birth_date.isoformat()} does not match the NIK date part "
            f"{nik[6:12]} (DDMMYY, women day + 40)")
    return parsed


def record_warnings(nik: str, *, birth_date: date | None,
                    known_districts: Collection[str] | None) -> list[str]:
    """Warnings shown with a stored record (never a refusal: the NIK of a record never changes)."""
    if is_temporary_number(nik):
        return [TEMPORARY_WARNING]
    try:
        parsed = parse_nik(nik, known_districts=known_districts)
    except InvalidNik as exc:
        return [exc.message]
    warnings = list(parsed.warnings)
    if birth_date is not None and not birth_date_agrees(parsed, birth_date):
        # A corrected birth date keeps the NIK it was issued with (DOMAIN.md).
        warnings.append(BIRTH_DATE_WARNING)
    return warnings


# -- temporary village numbers --------------------------------------------------------------------
def temporary_number(village_code: str, serial: int) -> str:
    """Nomor sementara: "TMP-<village digits>-<6-digit serial>", never mistaken for a NIK."""
    digits = village_code.replace(".", "")
    if not re.fullmatch(r"\d{10}", digits):
        raise InvalidTemporaryNumber(f"village code {village_code!r} is not PP.RR.DD.VVVV",
                                     field="village_code")
    if not 1 <= serial <= 999_999:
        raise InvalidTemporaryNumber(f"temporary number serial {serial} out of range 1..999999")
    return f"{TEMPORARY_PREFIX}-{digits}-{serial:06d}"


def check_replaceable(has_nik: bool) -> None:
    """A record's NIK never changes; a temporary number is replaced by the NIK once."""
    if has_nik:
        raise NikNeverChanges("A NIK never changes",
                              fields={"nik": ["The NIK of a record never changes; only a "
                                              "temporary village number is replaced, once."]})


def is_temporary_number(value: str) -> bool:
    return isinstance(value, str) and bool(_TEMPORARY_RE.match(value))


def parse_temporary_number(value: str) -> tuple[str, int]:
    """Returns (village_code, serial)."""
    match = _TEMPORARY_RE.match(value or "")
    if not match:
        raise InvalidTemporaryNumber(f"{value!r} is not a temporary village number")
    d = match.group(1)
    return f"{d[:2]}.{d[2:4]}.{d[4:6]}.{d[6:]}", int(match.group(2))


# -- Kartu Keluarga -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParsedFamilyNumber:
    number: str
    district_code: str
    registered_on: date
    serial: str
    warnings: tuple[str, ...] = field(default=())


def parse_family_number(number: str, *, known_districts: Collection[str] | None = None,
                        today: date | None = None) -> ParsedFamilyNumber:
    """No. KK: issuing district (6) + registration date DDMMYY + serial (not 0000)."""
    today = today or local_today()
    if not isinstance(number, str) or not _SIXTEEN_DIGITS.match(number):
        raise InvalidFamilyNumber("No. KK must be exactly 16 digits")
    district, day, month, yy, serial = (number[:6], int(number[6:8]), int(number[8:10]),
                                        int(number[10:12]), number[12:])
    registered_on = _guess_century(day, month, yy, today) if 1 <= month <= 12 else None
    if registered_on is None:
        raise InvalidFamilyNumber(f"No. KK registration date {number[6:12]} (DDMMYY) is not a "
                                  "real date")
    if not EARLIEST_FAMILY_REGISTRATION <= registered_on <= today:
        # Two-digit years: a date in the future reads as last century, before any card existed.
        raise InvalidFamilyNumber(f"No. KK registration date {number[6:12]} is not plausible "
                                  "(in the future or before 1971)")
    if serial == "0000":
        raise InvalidFamilyNumber("No. KK serial (last 4 digits) cannot be 0000")
    warnings = []
    if known_districts is not None and district not in known_districts:
        warnings.append(f"No. KK district prefix {district} is not a known district code")
    return ParsedFamilyNumber(number=number, district_code=district, registered_on=registered_on,
                              serial=serial, warnings=tuple(warnings))
