"""The vocabulary of every contract: marshmallow fields and helpers all services share.

NIK, temporary village number, village code, RT/RW, time of day, trimmed text and partial
updates are written here once; `load` turns marshmallow errors into the one wire error.
"""
from __future__ import annotations

import re
import unicodedata

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.errors import ValidationFailed
from services.common.printable import describe_chars, latin_letter, unprintable

NIK_PATTERN = r"\d{16}"
# Nomor sementara: "TMP-<10 village digits>-<6-digit serial>" until Dukcapil issues a NIK.
TEMPORARY_NUMBER_PATTERN = r"TMP-\d{10}-\d{6}"
PERSON_NUMBER_PATTERN = rf"({NIK_PATTERN}|{TEMPORARY_NUMBER_PATTERN})"
VILLAGE_CODE_PATTERN = r"\d{2}\.\d{2}\.\d{2}\.\d{4}"
DISTRICT_CODE_PATTERN = r"\d{2}\.\d{2}\.\d{2}"
TIME_PATTERN = r"([01]\d|2[0-3]):[0-5]\d"
PHONE_PATTERN = r"\+?[0-9 ()-]{6,20}"

nik = validate.Regexp(rf"^{NIK_PATTERN}$", error="NIK must be 16 digits.")
person_number = validate.Regexp(rf"^{PERSON_NUMBER_PATTERN}$",
                                error="Must be a 16-digit NIK or a temporary number.")
village_code = validate.Regexp(rf"^{VILLAGE_CODE_PATTERN}$",
                               error="Must look like 36.04.05.2001.")
district_code = validate.Regexp(rf"^{DISTRICT_CODE_PATTERN}$", error="Must look like 36.04.05.")
time_of_day = validate.Regexp(rf"^{TIME_PATTERN}$", error="Time as HH:MM.")
phone = validate.Regexp(rf"^{PHONE_PATTERN}$", error="Not a phone number.")


def is_temporary_number(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(TEMPORARY_NUMBER_PATTERN, value) is not None


class Choice(fields.String):
    """A string from a fixed list, matched case-insensitively and returned in its official form."""

    default_error_messages = {"invalid_choice": "Must be one of: {choices}."}

    def __init__(self, choices: tuple[str, ...], **kwargs):
        super().__init__(**kwargs)
        self.choices = choices
        self._lookup = {c.lower(): c for c in choices}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            return self._lookup[text.lower()]
        except KeyError:
            raise self.make_error("invalid_choice", choices=", ".join(self.choices)) from None


class RtRw(fields.String):
    """RT or RW number as a 3-digit string: 1, "1" and "01" all become "001"."""

    default_error_messages = {"invalid_rtrw": "Must be a number from 1 to 999 (e.g. \"001\")."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid_rtrw")
        if isinstance(value, int):
            value = str(value)
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not re.fullmatch(r"\d{1,3}", text) or int(text) == 0:
            raise self.make_error("invalid_rtrw")
        return text.zfill(3)


class Text(fields.String):
    """Trimmed text; blank becomes None so optional columns stay NULL, not ""."""

    default_error_messages = {"blank": "Must not be blank."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text:
            return text
        if self.required or not self.allow_none:
            raise self.make_error("blank")
        return None

    def _validate(self, value):
        if value is not None:
            super()._validate(value)


def text(max_length: int, required: bool = False, **kwargs) -> fields.Field:
    """Trimmed text up to `max_length`: required and non-blank, or optional (None when blank)."""
    if required:
        return Text(required=True, validate=validate.Length(min=1, max=max_length), **kwargs)
    kwargs.setdefault("load_default", None)
    return Text(allow_none=True, validate=validate.Length(max=max_length), **kwargs)


# -- what a letter can print (ADR 0014) -------------------------------------------------------

class PrintedText(Text):
    """Trimmed text a letter prints: refused when it holds a character the letter font lacks."""

    default_error_messages = {"unprintable": "Contains characters a letter cannot print: "
                                             "{chars}. Use Latin letters, digits and punctuation."}

    def __init__(self, *args, multiline: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is not None:
            text = unicodedata.normalize("NFC", text)
            bad = unprintable(text, self.multiline)
            if bad:
                raise self.make_error("unprintable", chars=describe_chars(bad))
        return text


def printed_text(max_length: int, required: bool = False, **kwargs) -> fields.Field:
    """`text()` for what a letter prints."""
    if required:
        return PrintedText(required=True, validate=validate.Length(min=1, max=max_length),
                           **kwargs)
    kwargs.setdefault("load_default", None)
    return PrintedText(allow_none=True, validate=validate.Length(max=max_length), **kwargs)


# Apostrophes as phones and word processors type them, written as the register writes them.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_NAME_PUNCTUATION = set(" '.,-")


class PersonName(Text):
    """A person's name as the population register writes it: Latin letters (accented ones
    kept as written, ADR 0014), spaces, apostrophe, period, comma and hyphen ("Ma'ruf",
    "H. Ahmad Fauzi, S.Pd.", "Siti Nur-Aini"). Spaces are collapsed; typographic apostrophes
    become "'"."""

    default_error_messages = {
        "invalid_name": "Names are written as in the population register: Latin letters, "
                        "spaces and ' . , - only (not allowed: {chars}).",
        "no_letter": "A name needs at least one letter.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs)
        if name is None:
            return None
        name = " ".join(unicodedata.normalize("NFC", name).translate(_APOSTROPHES).split())
        bad = [c for c in dict.fromkeys(name)
               if c not in _NAME_PUNCTUATION and not latin_letter(c)]
        if bad:
            raise self.make_error("invalid_name", chars=describe_chars(bad))
        if not any(latin_letter(c) for c in name):
            raise self.make_error("no_letter")
        return name


def person_name(max_length: int, required: bool = False, **kwargs) -> fields.Field:
    if required:
        return PersonName(required=True, validate=validate.Length(min=1, max=max_length),
                          **kwargs)
    kwargs.setdefault("load_default", None)
    return PersonName(allow_none=True, validate=validate.Length(max=max_length), **kwargs)


class PartialUpdate(Schema):
    """Mixin: loads as partial (a field left out keeps its value); an empty change is refused."""

    def __init__(self, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)

    @validates_schema
    def not_empty(self, data: dict, **kwargs) -> None:
        if not data:
            raise ValidationError({"_schema": ["Nothing to change."]})


def load(schema: Schema, data: object, message: str = "Invalid input") -> dict:
    """Validate with a contract schema; marshmallow errors become ValidationFailed with fields."""
    if not isinstance(data, dict):
        raise ValidationFailed("Input must be an object", fields={"_schema": ["Not an object."]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(message, fields=exc.messages) from None
