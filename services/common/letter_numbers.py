"""The letter-number format: a village setting that registry stores and letters fills in.

Both services must agree on what a valid format is, so the rule lives here once.
"""
from __future__ import annotations

import string

from services.common import rules

DEFAULT_FORMAT = "{code}/{seq:03d}/{short_code}/{month_roman}/{year}"
FIELDS = ("code", "seq", "short_code", "month_roman", "month", "year", "type")
# Values of the right kinds, to try a format out before a number is ever made with it.
SAMPLE = {"code": "470", "seq": 7, "short_code": "2001", "month_roman": "IV", "month": 4,
          "year": 2026, "type": "domisili"}


class InvalidNumberFormat(rules.Refused):
    field = "letter_number_format"


def format_fields(fmt: str) -> set[str]:
    """The field names a (checked) format prints: `{code}/{seq:03d}` -> {"code", "seq"}."""
    return {name for _, name, _, _ in string.Formatter().parse(fmt) if name is not None}


def check_format(fmt: str) -> None:
    """Only known fields, no attribute or index access, the sequence and the year present, specs
    that fit. The year is required because every series restarts each year (ADR 0013): without
    it, January's 001 would repeat last January's."""
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise InvalidNumberFormat(f"letter number format is invalid: {exc}",
                                  fields={"letter_number_format": [str(exc)]}) from None
    names = {name for _, name, _, _ in parsed if name is not None}
    unknown = names - set(FIELDS)
    if unknown or "" in names:
        raise InvalidNumberFormat(
            "letter number format uses unknown fields: " + ", ".join(sorted(unknown)),
            fields={"letter_number_format": [f"allowed: {', '.join(sorted(FIELDS))}"]})
    if "seq" not in names:
        raise InvalidNumberFormat("letter number format must contain {seq}",
                                  fields={"letter_number_format": ["missing {seq}"]})
    if "year" not in names:
        raise InvalidNumberFormat("letter number format must contain {year}: numbering restarts "
                                  "every year", fields={"letter_number_format": ["missing {year}"]})
    try:
        fmt.format(**SAMPLE)
    except (ValueError, TypeError) as exc:
        raise InvalidNumberFormat(f"letter number format is invalid: {exc}",
                                  fields={"letter_number_format": [str(exc)]}) from None
