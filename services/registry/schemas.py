"""Registry contract: marshmallow schemas for RPC input/output and event payloads.

The gateway imports these for edge validation and the OpenAPI document; the service validates
with the same schemas again, so a caller that skips the gateway gets the same field errors.
"""
from __future__ import annotations

import re

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from services.common.pagination import MAX_PER_PAGE, PageArgs, page_schema
from services.registry import domain

VILLAGE_CODE_RE = r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$"
DISTRICT_CODE_RE = r"^\d{2}\.\d{2}\.\d{2}$"
ROLES = ("officer", "head", "regency_admin", "operator")
VILLAGE_ROLES = ("officer", "head")
LETTER_NUMBER_PLACEHOLDERS = {"code": "470", "seq": 7, "short_code": "2001", "month_roman": "IV",
                              "month": 4, "year": 2026}


# -- reusable fields ------------------------------------------------------------------------------
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


def _text(max_length: int, required: bool = False, **kwargs) -> fields.Field:
    if required:
        return Text(required=True, validate=validate.Length(min=1, max=max_length), **kwargs)
    return Text(load_default=None, allow_none=True, validate=validate.Length(max=max_length),
                **kwargs)


def _nik_field(**kwargs) -> fields.Field:
    return fields.String(validate=validate.Regexp(r"^\d{16}$", error="NIK must be 16 digits."),
                         **kwargs)


def _person_number_field() -> fields.Field:
    """A parent's NIK or temporary village number."""
    return fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^(\d{16}|TMP-\d{10}-\d{6})$", error="Must be a 16-digit NIK or a temporary number."))


def _rule_error(exc: domain.RegistryRuleError) -> ValidationError:
    return ValidationError({exc.field: [exc.message]})


# -- address -------------------------------------------------------------------------------------
class Address(Schema):
    """Alamat inside the village: dusun, RW, RT and street ("Kp. X")."""

    class Meta:
        unknown = RAISE

    dusun = _text(80)
    rw = RtRw(load_default=None, allow_none=True)
    rt = RtRw(load_default=None, allow_none=True)
    street = _text(200)


# -- residents -----------------------------------------------------------------------------------
class ResidentFields(Schema):
    """Every resident field that a caller may give, all optional (the base of input schemas)."""

    class Meta:
        unknown = RAISE

    nik = _nik_field(load_default=None, allow_none=True)
    name = Text(validate=validate.Length(min=1, max=120))
    sex = Choice(domain.SEXES)
    birth_place = Text(validate=validate.Length(min=1, max=120))
    birth_date = fields.Date()
    religion = Choice(domain.RELIGIONS)
    citizenship = Choice(domain.CITIZENSHIPS)
    blood_type = Choice(domain.BLOOD_TYPES, allow_none=True)
    marital_status = Choice(domain.MARITAL_STATUSES)
    occupation = _text(120)
    education = _text(120)
    father_name = _text(120)
    father_nik = _person_number_field()
    mother_name = _text(120)
    mother_nik = _person_number_field()
    birth_certificate_number = _text(60)
    marriage_certificate_number = _text(60)
    divorce_certificate_number = _text(60)
    ektp_status = _text(40)
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^\+?[0-9 ()-]{6,20}$", error="Not a phone number."))
    email = fields.Email(load_default=None, allow_none=True)
    address = fields.Nested(Address)

    @validates_schema
    def check_dates_and_nik(self, data: dict, **kwargs) -> None:
        birth_date = data.get("birth_date")
        if birth_date is not None and birth_date > domain.local_today():
            raise ValidationError({"birth_date": ["Birth date is in the future."]})
        if data.get("nik") and ("sex" in data or "birth_date" in data):
            try:
                domain.check_nik(data["nik"], sex=data.get("sex"), birth_date=birth_date)
            except domain.RegistryRuleError as exc:
                raise _rule_error(exc) from None


class FamilyPlacement(Schema):
    """Mixin: the Kartu Keluarga a new resident joins (both fields or neither)."""

    family_number = fields.String(load_default=None, allow_none=True)
    relationship = fields.Integer(load_default=None, allow_none=True, strict=False,
                                  validate=validate.Range(min=1, max=11))

    @validates_schema
    def check_family(self, data: dict, **kwargs) -> None:
        number, relationship = data.get("family_number"), data.get("relationship")
        if number:
            try:
                domain.parse_family_number(number)
            except domain.RegistryRuleError as exc:
                raise ValidationError({"family_number": [exc.message]}) from None
            if relationship is None:
                raise ValidationError({"relationship": ["Required with family_number (SHDK "
                                                        "1..11)."]})
        elif relationship is not None:
            raise ValidationError({"family_number": ["Required with relationship."]})


class ResidentInput(ResidentFields, FamilyPlacement):
    """Register a resident. Without "nik" (or with null) a temporary village number is given."""

    name = Text(required=True, validate=validate.Length(min=1, max=120))
    sex = Choice(domain.SEXES, required=True)
    birth_place = Text(required=True, validate=validate.Length(min=1, max=120))
    birth_date = fields.Date(required=True)
    religion = Choice(domain.RELIGIONS, required=True)
    citizenship = Choice(domain.CITIZENSHIPS, load_default="WNI")
    blood_type = Choice(domain.BLOOD_TYPES, load_default=None, allow_none=True)
    marital_status = Choice(domain.MARITAL_STATUSES, required=True)
    address = fields.Nested(Address, load_default=dict)


class ChildInput(ResidentInput):
    """The newborn of a birth event: birth date defaults to the event date, not married."""

    birth_date = fields.Date(load_default=None)
    marital_status = Choice(domain.MARITAL_STATUSES, load_default="Belum Kawin")
    address = fields.Nested(Address, load_default=None, allow_none=True)


class PartialUpdate(Schema):
    """Mixin: loads as partial (a field left out keeps its value); an empty change is refused."""

    def __init__(self, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)

    @validates_schema
    def not_empty(self, data: dict, **kwargs) -> None:
        if not data:
            raise ValidationError({"_schema": ["Nothing to change."]})


class ResidentUpdate(ResidentFields, PartialUpdate):
    """Partial update. "nik" only replaces a temporary village number by the issued NIK.

    Status changes go through life events; family membership through the family methods.
    """


class Resident(Schema):
    """A resident as the registry returns it and as resident.* events carry it."""

    nik = fields.String(metadata={"example": "3604055208909001"})
    has_nik = fields.Boolean()
    name = fields.String()
    sex = fields.String(metadata={"enum": list(domain.SEXES)})
    birth_place = fields.String()
    birth_date = fields.Date()
    religion = fields.String()
    citizenship = fields.String()
    blood_type = fields.String(allow_none=True)
    marital_status = fields.String()
    occupation = fields.String(allow_none=True)
    education = fields.String(allow_none=True)
    family_number = fields.String(allow_none=True)
    relationship = fields.Integer(allow_none=True)
    father_name = fields.String(allow_none=True)
    father_nik = fields.String(allow_none=True)
    mother_name = fields.String(allow_none=True)
    mother_nik = fields.String(allow_none=True)
    birth_certificate_number = fields.String(allow_none=True)
    marriage_certificate_number = fields.String(allow_none=True)
    divorce_certificate_number = fields.String(allow_none=True)
    ektp_status = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    address = fields.Nested(Address)
    status = fields.String(metadata={"enum": list(domain.STATUSES)})
    village_code = fields.String()
    registered_at = fields.DateTime()
    updated_at = fields.DateTime()
    warnings = fields.List(fields.String())


class ResidentChange(Schema):
    changed_at = fields.DateTime()
    actor = fields.Dict(allow_none=True)
    reason = fields.String()
    changes = fields.Dict(metadata={"description": "{field: [old, new]}"})


class ResidentSearchArgs(PageArgs):
    """Query of search_residents: q matches the name (substring) or the start of the NIK."""

    q = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120))
    dusun = fields.String(load_default=None, allow_none=True)
    rw = RtRw(load_default=None, allow_none=True)
    rt = RtRw(load_default=None, allow_none=True)
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(domain.STATUSES))


class VillageListArgs(PageArgs):
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    district_code = fields.String(load_default=None, allow_none=True,
                                  validate=validate.Regexp(DISTRICT_CODE_RE))


ResidentPage = page_schema(Resident, "ResidentPage")


# -- reads of a record (UU 27/2022 PDP) -----------------------------------------------------------
READER_ROLES = ("resident", "officer", "head", "regency_admin", "operator")
PURPOSE_RE = r"^[a-z_]+(\.[a-z_]+)+$"


class Reader(Schema):
    """The actor of a read, as the gateway passes it. `purpose` (optional, e.g.
    "letters.subject") lets a service that reads on someone's behalf say why."""

    class Meta:
        unknown = EXCLUDE

    role = fields.String(required=True, validate=validate.OneOf(READER_ROLES))
    village_code = fields.String(load_default=None, allow_none=True)
    username = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(max=64))
    nik = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=24))
    purpose = fields.String(load_default=None, allow_none=True,
                            validate=(validate.Length(max=40), validate.Regexp(PURPOSE_RE)))


class ResidentReadsArgs(PageArgs):
    pass


class ResidentRead(Schema):
    """One read of a resident's record: when, by which role and account, and why."""

    read_at = fields.DateTime()
    role = fields.String()
    username = fields.String(allow_none=True,
                             metadata={"description": "Staff account; null for a resident"})
    purpose = fields.String(metadata={"example": "resident.read"})


ResidentReadPage = page_schema(ResidentRead, "ResidentReadPage")


# -- life events ---------------------------------------------------------------------------------
_EVENT_REQUIRED = {
    domain.BIRTH: ("child",),
    domain.DEATH: ("place", "cause"),
    domain.MOVE_OUT: ("destination",),
    domain.MOVE_IN: ("origin",),
    domain.DISAPPEARANCE: (),
}


class LifeEventInput(Schema):
    """A life event (mutasi). Required besides type and date: birth: child; death: place, cause;
    move_out: destination; move_in: origin. reported_at defaults to today."""

    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=validate.OneOf(domain.LIFE_EVENTS))
    date = fields.Date(required=True)
    reported_at = fields.Date(load_default=None, allow_none=True)
    note = _text(500)
    # birth
    child = fields.Nested(ChildInput)
    time = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^([01]\d|2[0-3]):[0-5]\d$", error="Time as HH:MM."))
    # death (time above too)
    place = _text(200)
    cause = _text(200)
    reporter = _text(120)
    reporter_nik = _person_number_field()
    reporter_relation = _text(60)
    # move out / move in
    destination = _text(300)
    destination_village_code = fields.String(load_default=None, allow_none=True,
                                             validate=validate.Regexp(VILLAGE_CODE_RE))
    origin = _text(300)
    origin_village_code = fields.String(load_default=None, allow_none=True,
                                        validate=validate.Regexp(VILLAGE_CODE_RE))
    reason = _text(300)
    # missing
    circumstances = _text(500)

    @validates_schema
    def check_type_fields(self, data: dict, **kwargs) -> None:
        missing = {name: [f"Required for a {data['type'].replace('_', ' ')} event."]
                   for name in _EVENT_REQUIRED[data["type"]] if not data.get(name)}
        if data["type"] != domain.BIRTH and data.get("child") is not None:
            missing["child"] = ["Only for a birth event."]
        if missing:
            raise ValidationError(missing)


class LifeEvent(Schema):
    id = fields.Integer()
    type = fields.String()
    nik = fields.String()
    village_code = fields.String()
    date = fields.Date()
    reported_at = fields.Date()
    details = fields.Dict()
    actor = fields.Dict(allow_none=True)
    recorded_at = fields.DateTime()


class LifeEventResult(Schema):
    event = fields.Nested(LifeEvent)
    resident = fields.Nested(Resident)


# -- families ------------------------------------------------------------------------------------
def _check_family_number(value: str) -> None:
    try:
        domain.parse_family_number(value)
    except domain.RegistryRuleError as exc:
        raise ValidationError(exc.message) from None


class FamilyMemberInput(Schema):
    class Meta:
        unknown = RAISE

    nik = fields.String(required=True, validate=validate.Length(min=1, max=24))
    relationship = fields.Integer(required=True, strict=False,
                                  validate=validate.Range(min=1, max=11))
    valid_from = fields.Date(load_default=None, allow_none=True)


class FamilyInput(Schema):
    """Register a Kartu Keluarga: number, head (SHDK 1) and optionally the other members."""

    class Meta:
        unknown = RAISE

    number = fields.String(required=True, validate=_check_family_number)
    head_nik = fields.String(required=True, validate=validate.Length(min=1, max=24))
    valid_from = fields.Date(load_default=None, allow_none=True)
    address = fields.Nested(Address, load_default=None, allow_none=True)
    members = fields.List(fields.Nested(FamilyMemberInput), load_default=list)

    @validates_schema
    def check_members(self, data: dict, **kwargs) -> None:
        niks = [m["nik"] for m in data["members"]]
        if data["head_nik"] in niks:
            raise ValidationError({"members": ["The head is added by head_nik; do not list "
                                               "them again."]})
        if len(set(niks)) != len(niks):
            raise ValidationError({"members": ["A resident is listed twice."]})
        if any(m["relationship"] == domain.HEAD_OF_FAMILY for m in data["members"]):
            raise ValidationError({"members": ["Only the head has relationship 1."]})


class EndMembershipInput(Schema):
    class Meta:
        unknown = RAISE

    nik = fields.String(required=True)
    valid_to = fields.Date(required=True)


class FamilyMember(Schema):
    nik = fields.String()
    name = fields.String()
    relationship = fields.Integer()
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True)


class Family(Schema):
    """A family card as the registry returns it and as family.updated carries it."""

    number = fields.String()
    village_code = fields.String()
    head_nik = fields.String(allow_none=True)
    address = fields.Nested(Address)
    members = fields.List(fields.Nested(FamilyMember))
    history = fields.List(fields.Nested(FamilyMember))
    updated_at = fields.DateTime()


# -- villages ------------------------------------------------------------------------------------
def _check_letter_number_format(value: str) -> None:
    if "{seq" not in value:
        raise ValidationError("Must contain {seq} (e.g. {seq:03d}).")
    try:
        value.format(**LETTER_NUMBER_PLACEHOLDERS)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValidationError(f"Unknown placeholder or bad format ({exc}); use "
                              f"{', '.join('{' + k + '}' for k in LETTER_NUMBER_PLACEHOLDERS)}."
                              ) from None


class VillageSettingsUpdate(PartialUpdate):
    """The settings a village (or the regency) may change; identity fields come from Kemendagri."""

    class Meta:
        unknown = RAISE

    short_code = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9.-]{1,20}$"))
    office_address = _text(300)
    head_name = _text(120)
    head_title = Text(validate=validate.Length(min=1, max=80))
    secretary_name = _text(120)
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 ()-]{6,20}$",
                                                                    error="Not a phone number."))
    email = fields.Email(allow_none=True)
    internet_installed = fields.Boolean()
    digital_services_since = fields.Date(allow_none=True)
    website_url = fields.Url(allow_none=True, schemes={"http", "https"})
    letter_number_scope = fields.String(validate=validate.OneOf(("per_type", "village")))
    letter_number_format = fields.String(validate=[validate.Length(max=120),
                                                   _check_letter_number_format])
    paper_size = fields.String(validate=validate.OneOf(("A4", "F4")))


class Village(Schema):
    """A village as the registry returns it and as village.updated carries it."""

    code = fields.String(metadata={"example": "36.04.05.2001"})
    name = fields.String()
    district_code = fields.String()
    district_name = fields.String()
    regency_code = fields.String()
    regency_name = fields.String()
    kind = fields.String(metadata={"enum": ["desa", "kelurahan"]})
    short_code = fields.String()
    office_address = fields.String(allow_none=True)
    head_name = fields.String(allow_none=True)
    head_title = fields.String()
    secretary_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    internet_installed = fields.Boolean()
    digital_services_since = fields.Date(allow_none=True)
    website_url = fields.String(allow_none=True)
    letter_number_scope = fields.String()
    letter_number_format = fields.String()
    paper_size = fields.String()
    updated_at = fields.DateTime()


VillagePage = page_schema(Village, "VillagePage")


# -- accounts and login --------------------------------------------------------------------------
class AccountCreate(Schema):
    class Meta:
        unknown = RAISE

    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    username = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9._-]{2,63}$",
        error="3-64 characters: lower-case letters, digits, '.', '_' or '-'."))
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=10, max=200))
    village_code = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Regexp(VILLAGE_CODE_RE))

    @validates_schema
    def check_village(self, data: dict, **kwargs) -> None:
        if data["role"] in VILLAGE_ROLES and not data.get("village_code"):
            raise ValidationError({"village_code": [f"Required for role {data['role']}."]})
        if data["role"] not in VILLAGE_ROLES and data.get("village_code"):
            raise ValidationError({"village_code": [f"Role {data['role']} is not bound to a "
                                                    "village."]})


class Account(Schema):
    id = fields.Integer()
    role = fields.String()
    username = fields.String()
    village_code = fields.String(allow_none=True)


class Login(Schema):
    """Staff log in with username + password; residents with NIK + PIN. Exactly one pair."""

    class Meta:
        unknown = RAISE

    username = fields.String(validate=validate.Length(min=1, max=64))
    password = fields.String(load_only=True, validate=validate.Length(min=1, max=200))
    nik = fields.String(validate=validate.Regexp(r"^(\d{16}|TMP-\d{10}-\d{6})$",
                                                 error="NIK must be 16 digits."))
    pin = fields.String(load_only=True, validate=validate.Regexp(r"^\d{6}$",
                                                                 error="PIN is 6 digits."))

    @validates_schema
    def one_pair(self, data: dict, **kwargs) -> None:
        staff = "username" in data or "password" in data
        resident = "nik" in data or "pin" in data
        if staff and resident:
            raise ValidationError({"_schema": ["Give username + password or nik + pin, not "
                                               "both."]})
        if not staff and not resident:
            raise ValidationError({"_schema": ["Give username + password or nik + pin."]})
        pair = ("username", "password") if staff else ("nik", "pin")
        missing = {name: ["Missing data for required field."] for name in pair
                   if name not in data}
        if missing:
            raise ValidationError(missing)


class Principal(Schema):
    """Who authenticated: the gateway puts this into the token."""

    subject = fields.String()
    role = fields.String()
    username = fields.String(allow_none=True)
    nik = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    village_code = fields.String(allow_none=True)


class PinIssued(Schema):
    pin = fields.String(metadata={"description": "6 digits, shown once"})


# -- CSV import ----------------------------------------------------------------------------------
_SEX_WORDS = {"laki-laki": "L", "laki laki": "L", "lk": "L", "pria": "L", "perempuan": "P",
              "pr": "P", "wanita": "P"}
_DATE_FORMATS = (r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$",)


class ResidentImportRow(ResidentInput):
    """One spreadsheet row (flat columns, Indonesian spellings accepted); see csv_import.py."""

    class Meta:
        unknown = RAISE

    address = fields.Nested(Address, load_default=dict)
    dusun = _text(80)
    rw = RtRw(load_default=None, allow_none=True)
    rt = RtRw(load_default=None, allow_none=True)
    street = _text(200)

    @pre_load
    def spreadsheet_spellings(self, data: dict, **kwargs) -> dict:
        data = {key: value for key, value in data.items() if value not in (None, "")}
        sex = data.get("sex")
        if isinstance(sex, str) and sex.strip().lower() in _SEX_WORDS:
            data["sex"] = _SEX_WORDS[sex.strip().lower()]
        birth_date = data.get("birth_date")
        if isinstance(birth_date, str):
            for pattern in _DATE_FORMATS:
                match = re.match(pattern, birth_date.strip())
                if match:
                    day, month, year = match.groups()
                    data["birth_date"] = f"{year}-{int(month):02d}-{int(day):02d}"
        relationship = data.get("relationship")
        if isinstance(relationship, str) and not relationship.strip().isdigit():
            try:
                data["relationship"] = domain.relationship_code(relationship)
            except domain.RegistryRuleError as exc:
                raise ValidationError({"relationship": [exc.message]}) from None
        return data

    @post_load
    def nest_address(self, data: dict, **kwargs) -> dict:
        data["address"] = {key: data.pop(key, None) for key in ("dusun", "rw", "rt", "street")}
        return data


class ImportProblem(Schema):
    line = fields.Integer()
    field = fields.String()
    message = fields.String()


class ImportReport(Schema):
    dry_run = fields.Boolean()
    rows = fields.Integer()
    imported = fields.Integer()
    families = fields.Integer()
    errors = fields.List(fields.Nested(ImportProblem))
