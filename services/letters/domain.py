"""Letter rules: workflow, numbering, Indonesian dates, masking, templates, attachment checks.

Pure Python: no nameko, no SQL. The application layer (app.py) loads state, asks these functions
to decide, and saves.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import filetype

from services.common.errors import Conflict, Forbidden, Unprocessable, ValidationFailed

JAKARTA = ZoneInfo("Asia/Jakarta")

# -- workflow --------------------------------------------------------------------------------

SUBMITTED, CHECKED, SIGNED, ISSUED, DOWNLOADED = (
    "submitted", "checked", "signed", "issued", "downloaded")
REJECTED, CANCELLED = "rejected", "cancelled"
STATUSES = (SUBMITTED, CHECKED, SIGNED, ISSUED, DOWNLOADED, REJECTED, CANCELLED)
OPEN_STATUSES = (SUBMITTED, CHECKED)

OFFICE_ROLES = ("officer", "head")


class LetterNotInState(Conflict):
    """The letter is not in a state that allows this step (already signed, rejected, ...)."""


@dataclass(frozen=True)
class Step:
    name: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    needs_reason: bool = False


STEPS = {
    "check": Step("check", (SUBMITTED,), CHECKED, OFFICE_ROLES),
    # Only the village head signs. A secretary signing "a.n. Kepala Desa" would be a later role.
    "sign": Step("sign", (CHECKED,), SIGNED, ("head",)),
    "issue": Step("issue", (SIGNED,), ISSUED, ("system",)),
    "download": Step("download", (ISSUED,), DOWNLOADED, ("resident", "officer", "head")),
    "reject": Step("reject", OPEN_STATUSES, REJECTED, OFFICE_ROLES, needs_reason=True),
    "cancel": Step("cancel", OPEN_STATUSES, CANCELLED, ("resident", *OFFICE_ROLES),
                   needs_reason=True),
}


def decide_step(step_name: str, status: str, role: str | None, reason: str | None = None) -> str:
    """Return the new status for `step_name`, or raise why it is not allowed."""
    step = STEPS[step_name]
    if role not in step.roles:
        raise Forbidden(f"role {role!r} may not {step_name} a letter")
    if status not in step.sources:
        raise LetterNotInState(
            f"cannot {step_name} a letter that is {status}",
            fields={"status": [f"expected one of {', '.join(step.sources)}"]})
    if step.needs_reason and not (reason or "").strip():
        raise ValidationFailed("a reason is required", fields={"reason": ["Required."]})
    return step.target


# -- who may ask for a letter ----------------------------------------------------------------

BLOCKED_RESIDENT_STATUSES = {"dead": "dead", "moved_out": "moved out"}


def check_subject_may_receive(resident_status: str, subject_must_be_dead: bool) -> None:
    """Dead or moved-out residents get no letters, except the death letter about the deceased."""
    if subject_must_be_dead:
        if resident_status != "dead":
            raise Unprocessable(
                "a death letter can only be made for a resident recorded as dead",
                fields={"subject_nik": ["resident is not recorded as dead"]})
        return
    if resident_status in BLOCKED_RESIDENT_STATUSES:
        raise Unprocessable(
            f"the resident is recorded as {BLOCKED_RESIDENT_STATUSES[resident_status]}; "
            f"letters can no longer be requested for them",
            fields={"subject_nik": [f"resident is {BLOCKED_RESIDENT_STATUSES[resident_status]}"]})


def check_requester(role: str | None, actor_nik: str | None, subject_nik: str,
                    resident_may_request: bool) -> None:
    """Residents ask for themselves; officers and the head for anyone in their village."""
    if role == "resident":
        if not resident_may_request:
            raise Forbidden("this letter is made by the village office, not requested by "
                            "residents")
        if subject_nik != actor_nik:
            raise Forbidden("residents may only request letters about themselves")
        return
    if role not in OFFICE_ROLES:
        raise Forbidden(f"role {role!r} may not request letters")


# -- numbers ---------------------------------------------------------------------------------

DEFAULT_NUMBER_FORMAT = "{code}/{seq:03d}/{short_code}/{month_roman}/{year}"
NUMBER_FIELDS = {"code", "seq", "short_code", "month_roman", "month", "year", "type"}
ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def roman_month(month: int) -> str:
    if not 1 <= month <= 12:
        raise ValueError(f"month out of range: {month}")
    return ROMAN_MONTHS[month - 1]


def check_number_format(fmt: str) -> None:
    """Only known fields, no attribute or index access, and the sequence must appear."""
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise Unprocessable(f"letter number format is invalid: {exc}",
                            fields={"letter_number_format": [str(exc)]}) from exc
    names = {name for _, name, _, _ in parsed if name is not None}
    unknown = names - NUMBER_FIELDS
    if unknown or "" in names:
        raise Unprocessable(
            "letter number format uses unknown fields: " + ", ".join(sorted(unknown)),
            fields={"letter_number_format": [f"allowed: {', '.join(sorted(NUMBER_FIELDS))}"]})
    if "seq" not in names:
        raise Unprocessable("letter number format must contain {seq}",
                            fields={"letter_number_format": ["missing {seq}"]})


def format_number(fmt: str, *, code: str, seq: int, short_code: str, when: date,
                  type_code: str) -> str:
    check_number_format(fmt)
    try:
        return fmt.format(code=code, seq=seq, short_code=short_code,
                          month_roman=roman_month(when.month), month=when.month,
                          year=when.year, type=type_code)
    except (ValueError, TypeError) as exc:
        raise Unprocessable(f"letter number format is invalid: {exc}",
                            fields={"letter_number_format": [str(exc)]}) from exc


def counter_scope_key(number_scope: str, type_code: str) -> str:
    """One series per letter type, or one for the whole village (a village setting)."""
    return "village" if number_scope == "village" else type_code


# -- Indonesian dates ------------------------------------------------------------------------

MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
             "September", "Oktober", "November", "Desember")


def date_id(value: date) -> str:
    """19 Januari 2023 (written out, not from locales, which servers often lack)."""
    return f"{value.day} {MONTHS_ID[value.month - 1]} {value.year}"


def place_and_date(place: str, value: date) -> str:
    return f"{place}, {date_id(value)}"


def local_date(moment: datetime) -> date:
    return moment.astimezone(JAKARTA).date()


# -- masking (UU PDP: public pages show masked data only) ------------------------------------

def mask_name(name: str) -> str:
    """"Siti Aminah" -> "S*** A*****": the first letter of each word kept."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def mask_nik(nik: str) -> str:
    """"3604051201909001" -> "3604********9001"; temporary numbers keep their ends too."""
    if len(nik) <= 8:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 8) + nik[-4:]


# -- templates -------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
BRACE = re.compile(r"[{}]")


def template_placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def check_template(text: str, allowed: set[str]) -> None:
    """Placeholders are plain `{name}` from the allowed set; stray braces are refused."""
    unknown = template_placeholders(text) - allowed
    if unknown:
        raise ValidationFailed("the template uses unknown placeholders",
                               fields={"body": [f"unknown: {', '.join(sorted(unknown))}"]})
    if BRACE.search(PLACEHOLDER.sub("", text)):
        raise ValidationFailed("the template has a brace that is not a placeholder",
                               fields={"body": ["use {name} placeholders only"]})


def fill_template(text: str, values: dict[str, str]) -> str:
    """Replace `{name}` with its value; a missing value prints as "-" rather than failing."""
    def replace(match: re.Match) -> str:
        value = values.get(match.group(1))
        return "-" if value in (None, "") else str(value)

    return PLACEHOLDER.sub(replace, text)


@dataclass(frozen=True)
class Block:
    """One block of a letter body: a paragraph, or a table of `label : value` rows."""
    kind: str  # "paragraph" | "table"
    text: str = ""
    rows: tuple[tuple[str, str], ...] = ()


def body_blocks(filled: str) -> list[Block]:
    """Split filled text into blocks: blank lines separate blocks; a block whose every line is
    `label : value` is a table (how identity data is laid out on Indonesian letters)."""
    blocks = []
    for chunk in re.split(r"\n\s*\n", filled.strip()):
        lines = [line.strip() for line in chunk.strip().splitlines() if line.strip()]
        if not lines:
            continue
        if all(" : " in line for line in lines):
            rows = tuple(tuple(part.strip() for part in line.split(" : ", 1)) for line in lines)
            blocks.append(Block("table", rows=rows))
        else:
            blocks.append(Block("paragraph", text=" ".join(lines)))
    return blocks


# -- resident data as printed ----------------------------------------------------------------

SEX_ID = {"L": "Laki-laki", "P": "Perempuan"}


def address_line(address: dict | None, village_name: str) -> str:
    """"Kp. Babakan RT 001/RW 002, Dusun Krajan, Desa Kramatwatu"."""
    address = address or {}
    parts = []
    street = (address.get("street") or "").strip()
    if street:
        parts.append(street)
    rt, rw = address.get("rt"), address.get("rw")
    if rt or rw:
        parts.append(f"RT {str(rt or '-').zfill(3)}/RW {str(rw or '-').zfill(3)}")
    head = " ".join(parts)
    tail = []
    dusun = (address.get("dusun") or "").strip()
    if dusun:
        # Villages write the hamlet either as "Krajan" or already as "Dusun Krajan".
        tail.append(dusun if dusun.lower().startswith("dusun ") else f"Dusun {dusun}")
    if village_name:
        tail.append(f"Desa {village_name}")
    return ", ".join([p for p in [head, *tail] if p])


# -- attachments -----------------------------------------------------------------------------

ATTACHMENT_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
ATTACHMENT_KINDS = ("ktp", "kk", "cover_letter", "other")
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


def sniff_attachment(head: bytes, size: int) -> str:
    """The content type read from the bytes themselves (never the client's header)."""
    if size == 0:
        raise ValidationFailed("the file is empty", fields={"file": ["empty file"]})
    if size > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed(
            f"the file is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB",
            fields={"file": [f"at most {MAX_ATTACHMENT_BYTES} bytes"]})
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ATTACHMENT_TYPES:
        found = kind.mime if kind else "unknown"
        raise ValidationFailed("only PDF, JPEG or PNG files are accepted",
                               fields={"file": [f"file content is {found}"]})
    return kind.mime
