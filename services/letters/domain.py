"""Letter rules: workflow, numbering, Indonesian dates, masking, templates, attachment checks.

Pure Python: no nameko, no SQL, no wire errors: every refusal is a named exception. The
application layer (app/) loads state, asks these functions to decide, and saves.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from services.common import letter_numbers, roles, rules
from services.common.printable import describe_chars, unprintable

# -- workflow --------------------------------------------------------------------------------

SUBMITTED, CHECKED, SIGNED, ISSUED, DOWNLOADED = (
    "submitted", "checked", "signed", "issued", "downloaded")
REJECTED, CANCELLED = "rejected", "cancelled"
STATUSES = (SUBMITTED, CHECKED, SIGNED, ISSUED, DOWNLOADED, REJECTED, CANCELLED)
OPEN_STATUSES = (SUBMITTED, CHECKED)


class LetterNotInState(rules.WrongState):
    """The letter is not in a state that allows this step (already signed, rejected, ...)."""


class StepNotAllowed(rules.NotPermitted):
    """The caller's role may not take this step, ask for this letter or configure types."""


class ReasonRequired(rules.InvalidValue):
    field = "reason"


class SubjectMayNotReceive(rules.Refused):
    """Dead or moved-out residents get no letters (except the death letter)."""

    field = "subject_nik"


class TypeSwitchedOff(rules.Refused):
    """The village does not offer this letter type."""

    field = "type_code"


class PurposeRequired(rules.InvalidValue):
    field = "purpose"


class InvalidTemplate(rules.InvalidValue):
    field = "body"


@dataclass(frozen=True)
class Step:
    name: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    needs_reason: bool = False


STEPS = {
    "check": Step("check", (SUBMITTED,), CHECKED, roles.LETTER_CLERKS),
    # Only the village head signs. A secretary signing "a.n. Kepala Desa" is a village setting
    # still to come.
    "sign": Step("sign", (CHECKED,), SIGNED, (roles.HEAD,)),
    "issue": Step("issue", (SIGNED,), ISSUED, (roles.SYSTEM,)),
    "download": Step("download", (ISSUED,), DOWNLOADED, (roles.RESIDENT, *roles.LETTER_CLERKS)),
    "reject": Step("reject", OPEN_STATUSES, REJECTED, roles.LETTER_CLERKS, needs_reason=True),
    "cancel": Step("cancel", OPEN_STATUSES, CANCELLED, (roles.RESIDENT, *roles.LETTER_CLERKS),
                   needs_reason=True),
}


def download_collects(role: str | None) -> bool:
    """Whether a first download is the letter's collection (issued -> downloaded): by the
    resident or the village office. The regency reading it for oversight collects nothing."""
    return role in STEPS["download"].roles


def decide_step(step_name: str, status: str, role: str | None, reason: str | None = None) -> str:
    """Return the new status for `step_name`, or raise why it is not allowed."""
    step = STEPS[step_name]
    if role not in step.roles:
        raise StepNotAllowed(f"role {role!r} may not {step_name} a letter")
    if status not in step.sources:
        raise LetterNotInState(
            f"cannot {step_name} a letter that is {status}",
            fields={"status": [f"expected one of {', '.join(step.sources)}"]})
    if step.needs_reason and not (reason or "").strip():
        raise ReasonRequired("a reason is required", fields={"reason": ["Required."]})
    return step.target


# -- issuing: the PDF step after signing ----------------------------------------------------

# A signed letter whose PDF cannot be rendered or stored (object storage down) is tried again
# after 30 s, 1, 2, 4, 8, 16 and 30 minutes; after the eighth failure (about an hour) it is
# parked: no more automatic attempts, listed for an operator to retry (`desa letters parked`).
ISSUE_MAX_ATTEMPTS = 8
ISSUE_FIRST_DELAY = timedelta(seconds=30)
ISSUE_MAX_DELAY = timedelta(minutes=30)


def issue_retry_delay(failed_attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: doubling, capped."""
    return min(ISSUE_FIRST_DELAY * 2 ** max(failed_attempts - 1, 0), ISSUE_MAX_DELAY)


def issue_parks(failed_attempts: int) -> bool:
    return failed_attempts >= ISSUE_MAX_ATTEMPTS


# -- who may ask for a letter ----------------------------------------------------------------

BLOCKED_RESIDENT_STATUSES = {"dead": "dead", "moved_out": "moved out"}


def check_subject_may_receive(resident_status: str, subject_must_be_dead: bool) -> None:
    """Dead or moved-out residents get no letters, except the death letter about the deceased."""
    if subject_must_be_dead:
        if resident_status != "dead":
            raise SubjectMayNotReceive(
                "a death letter can only be made for a resident recorded as dead",
                fields={"subject_nik": ["resident is not recorded as dead"]})
        return
    if resident_status in BLOCKED_RESIDENT_STATUSES:
        raise SubjectMayNotReceive(
            f"the resident is recorded as {BLOCKED_RESIDENT_STATUSES[resident_status]}; "
            f"letters can no longer be requested for them",
            fields={"subject_nik": [f"resident is {BLOCKED_RESIDENT_STATUSES[resident_status]}"]})


class SubjectNotPrintable(rules.Refused):
    """The register holds the subject with characters a letter cannot print (data from before
    the register checked them)."""

    field = "subject_nik"


PRINTED_RESIDENT_FIELDS = ("name", "birth_place", "occupation", "father_name", "mother_name")
PRINTED_ADDRESS_FIELDS = ("street", "dusun")


def check_printable_subject(resident: dict) -> None:
    """Everything a letter prints about its subject can be printed; otherwise say which register
    field to correct rather than print black boxes."""
    address = resident.get("address") or {}
    values = {**{name: resident.get(name) for name in PRINTED_RESIDENT_FIELDS},
              **{f"address.{name}": address.get(name) for name in PRINTED_ADDRESS_FIELDS}}
    problems = {name: [f"characters a letter cannot print: {describe_chars(bad)}"]
                for name, value in values.items()
                if isinstance(value, str) and (bad := unprintable(value))}
    if problems:
        raise SubjectNotPrintable(
            "the resident's register data has characters a letter cannot print ("
            + ", ".join(problems) + "); correct it in the register first",
            fields={f"subject.{name}": messages for name, messages in problems.items()})


def check_requester(role: str | None, actor_nik: str | None, subject_nik: str,
                    resident_may_request: bool) -> None:
    """Residents ask for themselves; officers and the head for anyone in their village."""
    if role == roles.RESIDENT:
        if not resident_may_request:
            raise StepNotAllowed("this letter is made by the village office, not requested by "
                                 "residents")
        if subject_nik != actor_nik:
            raise StepNotAllowed("residents may only request letters about themselves")
        return
    if role not in roles.LETTER_CLERKS:
        raise StepNotAllowed(f"role {role!r} may not request letters")


def check_request(type_name: str, *, enabled: bool, purpose_required: bool,
                  purpose: str | None) -> None:
    """The village offers the type, and a purpose is given where the type needs one."""
    if not enabled:
        raise TypeSwitchedOff(f"{type_name} is not offered by this village",
                              fields={"type_code": ["switched off in this village"]})
    if purpose_required and not purpose:
        raise PurposeRequired("purpose is required for this letter",
                              fields={"purpose": ["Missing data for required field."]})


def check_configurer(role: str | None) -> None:
    """Letter types are the village office's (and the regency's) to configure."""
    if role not in roles.LETTER_CONFIGURERS:
        raise StepNotAllowed("only the village office may configure letter types")


# -- numbers ---------------------------------------------------------------------------------

DEFAULT_NUMBER_FORMAT = letter_numbers.DEFAULT_FORMAT
ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def roman_month(month: int) -> str:
    if not 1 <= month <= 12:
        raise ValueError(f"month out of range: {month}")
    return ROMAN_MONTHS[month - 1]


def format_number(fmt: str, *, code: str, seq: int, short_code: str, when: date,
                  type_code: str) -> str:
    letter_numbers.check_format(fmt)
    return fmt.format(code=code, seq=seq, short_code=short_code,
                      month_roman=roman_month(when.month), month=when.month, year=when.year,
                      type=type_code)


VILLAGE_SERIES = "village"
CODE_SERIES_PREFIX = "code:"


def counter_scope_key(number_scope: str, number_format: str, type_code: str,
                      classification_code: str) -> str:
    """The series a letter's number is counted in (ADR 0013).

    The village chooses one series for the whole village or one "per type"; a series must still
    make every printed number unique, so it follows what the format prints. Per type, with
    `{type}` in the format: one series per letter type. Without `{type}` only the classification
    code tells types apart (domicile, cover letter and loss all print 470), so the series is per
    classification code; without `{code}` either, one series for the village.
    """
    printed = letter_numbers.format_fields(number_format)
    if number_scope == "village":
        return VILLAGE_SERIES
    if "type" in printed:
        return type_code
    if "code" in printed:
        return CODE_SERIES_PREFIX + classification_code
    return VILLAGE_SERIES


# -- Indonesian dates ------------------------------------------------------------------------

MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
             "September", "Oktober", "November", "Desember")


def date_id(value: date) -> str:
    """19 Januari 2023 (written out, not from locales, which servers often lack)."""
    return f"{value.day} {MONTHS_ID[value.month - 1]} {value.year}"


def place_and_date(place: str, value: date) -> str:
    return f"{place}, {date_id(value)}"


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
        raise InvalidTemplate("the template uses unknown placeholders",
                               fields={"body": [f"unknown: {', '.join(sorted(unknown))}"]})
    if BRACE.search(PLACEHOLDER.sub("", text)):
        raise InvalidTemplate("the template has a brace that is not a placeholder",
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
