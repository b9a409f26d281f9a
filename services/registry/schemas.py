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

from services.common import clock, letter_numbers, roles
from services.common import fields as common
from services.common.fields import Choice, PartialUpdate, RtRw, Text, text
from services.common.pagination import MAX_PER_PAGE, PageArgs, page_schema
from services.registry import domain


def _rule_error(exc: domain.RegistryRuleError) -> ValidationError:
    return ValidationError({exc.field: [exc.message]})


# -- address -------------------------------------------------------------------------------------
class Address(Schema):
    """Alamat inside the village: dusun, RW, RT and street ("Kp. X")."""

    class Meta:
        unknown = RAISE

    dusun = text(80)
    rw = RtRw(load_default=None, allow_none=True)
    rt = RtRw(load_default=None, allow_none=True)
    street = text(200)


# -- residents -----------------------------------------------------------------------------------
class ResidentFields(Schema):
    """Every resident field that a caller may give, all optional (the base of input schemas)."""

    class Meta:
        unknown = RAISE

    nik = fields.String(load_default=None, allow_none=True, validate=common.nik)
    name = Text(validate=validate.Length(min=1, max=120))
    sex = Choice(domain.SEXES)
    birth_place = Text(validate=validate.Length(min=1, max=120))
    birth_date = fields.Date()
    religion = Choice(domain.RELIGIONS)
    citizenship = Choice(domain.CITIZENSHIPS)
    blood_type = Choice(domain.BLOOD_TYPES, allow_none=True)
    marital_status = Choice(domain.MARITAL_STATUSES)
    occupation = text(120)
    education = text(120)
    father_name = text(120)
    father_nik = fields.String(load_default=None, allow_none=True, validate=common.person_number)
    mother_name = text(120)
    mother_nik = fields.String(load_default=None, allow_none=True, validate=common.person_number)
    birth_certificate_number = text(60)
    marriage_certificate_number = text(60)
    divorce_certificate_number = text(60)
    ektp_status = text(40)
    phone = fields.String(load_default=None, allow_none=True, validate=common.phone)
    email = fields.Email(load_default=None, allow_none=True)
    address = fields.Nested(Address)

    @validates_schema
    def check_dates_and_nik(self, data: dict, **kwargs) -> None:
        birth_date = data.get("birth_date")
        if birth_date is not None and birth_date > clock.local_today():
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
                                  validate=common.district_code)


ResidentPage = page_schema(Resident, "ResidentPage")


# -- reads of a record (UU 27/2022 PDP) -----------------------------------------------------------
PURPOSE_RE = r"^[a-z_]+(\.[a-z_]+)+$"


class Reader(Schema):
    """The actor of a read, as the gateway passes it. `purpose` (optional, e.g.
    "letters.subject") lets a service that reads on someone's behalf say why."""

    class Meta:
        unknown = EXCLUDE

    role = fields.String(required=True, validate=validate.OneOf(roles.ALL))
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
    note = text(500)
    # birth
    child = fields.Nested(ChildInput)
    time = fields.String(load_default=None, allow_none=True, validate=common.time_of_day)
    # death (time above too)
    place = text(200)
    cause = text(200)
    reporter = text(120)
    reporter_nik = fields.String(load_default=None, allow_none=True, validate=common.person_number)
    reporter_relation = text(60)
    # move out / move in
    destination = text(300)
    destination_village_code = fields.String(load_default=None, allow_none=True,
                                             validate=common.village_code)
    origin = text(300)
    origin_village_code = fields.String(load_default=None, allow_none=True,
                                        validate=common.village_code)
    reason = text(300)
    # missing
    circumstances = text(500)

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
    try:
        letter_numbers.check_format(value)
    except letter_numbers.InvalidNumberFormat as exc:
        raise ValidationError(exc.message) from None


class VillageSettingsUpdate(PartialUpdate):
    """The settings a village (or the regency) may change; identity fields come from Kemendagri."""

    class Meta:
        unknown = RAISE

    short_code = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9.-]{1,20}$"))
    office_address = text(300)
    head_name = text(120)
    head_title = Text(validate=validate.Length(min=1, max=80))
    secretary_name = text(120)
    phone = fields.String(allow_none=True, validate=common.phone)
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
    updated_by = fields.String(allow_none=True, metadata={"description": "Who last changed the "
                                                                         "settings"})


VillagePage = page_schema(Village, "VillagePage")


# -- accounts and login --------------------------------------------------------------------------
class AccountCreate(Schema):
    class Meta:
        unknown = RAISE

    role = fields.String(required=True, validate=validate.OneOf(roles.ACCOUNTS))
    username = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9._-]{2,63}$",
        error="3-64 characters: lower-case letters, digits, '.', '_' or '-'."))
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=10, max=200))
    village_code = fields.String(load_default=None, allow_none=True,
                                 validate=common.village_code)

    @validates_schema
    def check_village(self, data: dict, **kwargs) -> None:
        if data["role"] in roles.VILLAGE_BOUND and not data.get("village_code"):
            raise ValidationError({"village_code": [f"Required for role {data['role']}."]})
        if data["role"] not in roles.VILLAGE_BOUND and data.get("village_code"):
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
    nik = fields.String(validate=validate.Regexp(rf"^{common.PERSON_NUMBER_PATTERN}$",
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
    dusun = text(80)
    rw = RtRw(load_default=None, allow_none=True)
    rt = RtRw(load_default=None, allow_none=True)
    street = text(200)

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
