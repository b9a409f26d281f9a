"""Registry contract for residents: fields, registration, updates, search, reads, life events."""
from __future__ import annotations

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from services.common import clock, roles
from services.common import fields as common
from services.common.fields import (
    Choice,
    PartialUpdate,
    PersonName,
    PrintedText,
    RtRw,
    person_name,
    printed_text,
    text,
)
from services.common.pagination import PageArgs, page_schema
from services.registry import domain, identity


def _rule_error(exc: domain.RegistryRuleError) -> ValidationError:
    return ValidationError({exc.field: [exc.message]})


# -- address -------------------------------------------------------------------------------------
class Address(Schema):
    """Alamat inside the village: dusun, RW, RT and street ("Kp. X")."""

    class Meta:
        unknown = RAISE

    dusun = printed_text(80)
    rw = RtRw(load_default=None, allow_none=True)
    rt = RtRw(load_default=None, allow_none=True)
    street = printed_text(200)


# -- residents -----------------------------------------------------------------------------------
class ResidentFields(Schema):
    """Every resident field that a caller may give, all optional (the base of input schemas)."""

    class Meta:
        unknown = RAISE

    nik = fields.String(load_default=None, allow_none=True, validate=common.nik)
    name = PersonName(validate=validate.Length(min=1, max=120))
    sex = Choice(domain.SEXES)
    birth_place = PrintedText(validate=validate.Length(min=1, max=120))
    birth_date = fields.Date()
    religion = Choice(domain.RELIGIONS)
    citizenship = Choice(domain.CITIZENSHIPS)
    blood_type = Choice(domain.BLOOD_TYPES, allow_none=True)
    marital_status = Choice(domain.MARITAL_STATUSES)
    occupation = printed_text(120)
    education = printed_text(120)
    father_name = person_name(120)
    father_nik = fields.String(load_default=None, allow_none=True, validate=common.person_number)
    mother_name = person_name(120)
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
                identity.check_nik(data["nik"], sex=data.get("sex"), birth_date=birth_date)
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
                identity.parse_family_number(number)
            except domain.RegistryRuleError as exc:
                raise ValidationError({"family_number": [exc.message]}) from None
            if relationship is None:
                raise ValidationError({"relationship": ["Required with family_number (SHDK "
                                                        "1..11)."]})
        elif relationship is not None:
            raise ValidationError({"family_number": ["Required with relationship."]})


class ResidentInput(ResidentFields, FamilyPlacement):
    """Register a resident. Without "nik" (or with null) a temporary village number is given."""

    name = PersonName(required=True, validate=validate.Length(min=1, max=120))
    sex = Choice(domain.SEXES, required=True)
    birth_place = PrintedText(required=True, validate=validate.Length(min=1, max=120))
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
    """Query of search_residents: q matches the name (substring) or the start of the NIK.
    Results come in name order."""

    q = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120))
    dusun = fields.String(load_default=None, allow_none=True)
    rw = RtRw(load_default=None, allow_none=True)
    rt = RtRw(load_default=None, allow_none=True)
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(domain.STATUSES))


ResidentPage = page_schema(Resident, "ResidentPage", total_capped=fields.Boolean(metadata={
    "description": "True when a search across the regency matched more residents than it "
                   "counts (1,000): `total` is then that cap, not the number of matches. "
                   "Within a village the total is always exact (false)."}))


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
