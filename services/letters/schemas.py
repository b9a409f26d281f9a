"""marshmallow schemas: the letters service's RPC and HTTP contract (the gateway imports these)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.pagination import PageArgs, page_schema
from services.letters.domain import ATTACHMENT_KINDS, STATUSES

NIK_OR_TEMP = validate.Regexp(r"^(\d{16}|TMP-[0-9A-Za-z.\-]{4,40})$",
                              error="must be a 16-digit NIK or a temporary village number")
VILLAGE_CODE = validate.Regexp(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$",
                               error="must look like 36.04.05.2001")
TIME = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="must be HH:MM")


def _text(max_length: int = 200, required: bool = True, **kwargs) -> fields.String:
    return fields.String(required=required, validate=validate.Length(min=1, max=max_length),
                         **kwargs)


# -- fields of each letter type (the `fields` object of a request) ---------------------------

class NoFields(Schema):
    """Types whose only input is the top-level `purpose`."""


class PoorFamilyFields(Schema):
    """SKTM: what the certificate of low income is needed for."""
    need = fields.String(required=True,
                         validate=validate.OneOf(["sekolah", "rumah_sakit", "bantuan", "lainnya"]))


class BusinessFields(Schema):
    """SKU: the business the resident runs."""
    business_name = _text()
    business_type = _text(100)
    business_address = _text(300)
    since = fields.Integer(required=True, validate=validate.Range(min=1945, max=2100))


class BirthFields(Schema):
    """Surat Keterangan Kelahiran: the subject is the child (already in the registry)."""
    birth_time = fields.String(required=True, validate=TIME)
    delivery_place = _text(200)
    reporter_name = _text(100)
    reporter_relation = _text(50)


class DeathFields(Schema):
    """Surat Keterangan Kematian: the subject is the deceased."""
    death_date = fields.Date(required=True)
    death_time = fields.String(load_default=None, validate=TIME)
    death_place = _text(200)
    cause = _text(200)
    reporter_name = _text(100)
    reporter_relation = _text(50)


class MovingMember(Schema):
    nik = fields.String(required=True, validate=NIK_OR_TEMP)
    name = _text(100)


class MovingFields(Schema):
    """Surat Keterangan Pindah: where to, why, and who moves along."""
    destination_address = _text(300)
    reason = _text(200)
    members = fields.List(fields.Nested(MovingMember), load_default=list,
                          validate=validate.Length(max=20))


class LossFields(Schema):
    """Surat Keterangan Kehilangan: what was lost, when and how."""
    lost_item = _text(200)
    lost_date = fields.Date(required=True)
    lost_place = _text(200)
    circumstances = _text(500)


class CrowdPermitFields(Schema):
    """Surat Izin Keramaian: the event."""
    event_name = _text(200)
    event_date = fields.Date(required=True)
    event_time = fields.String(required=True, validate=TIME)
    event_place = _text(300)
    entertainment = _text(200, required=False, load_default=None)
    guests = fields.Integer(load_default=None, validate=validate.Range(min=1, max=100000))


# -- requests and commands -------------------------------------------------------------------

class LetterRequestSchema(Schema):
    """POST /letters: `subject_nik` is for officers; a resident's letter is about themself."""
    type_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    subject_nik = fields.String(load_default=None, validate=NIK_OR_TEMP)
    purpose = fields.String(load_default=None, validate=validate.Length(min=3, max=300))
    fields_ = fields.Dict(data_key="fields", attribute="fields", load_default=dict)


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class AttachmentFormSchema(Schema):
    kind = fields.String(load_default="other", validate=validate.OneOf(ATTACHMENT_KINDS))


class LetterListQuerySchema(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))


class LetterTypesQuerySchema(Schema):
    village = fields.String(required=True, validate=VILLAGE_CODE)


class LetterTypeChangesSchema(Schema):
    """A village's settings for one letter type; title/body changes make a new template version."""
    enabled = fields.Boolean()
    classification_code = fields.String(validate=validate.Regexp(r"^[0-9][0-9.]{0,11}$"))
    title = fields.String(validate=validate.Length(min=3, max=120))
    body = fields.String(validate=validate.Length(min=10, max=8000))

    @validates_schema
    def not_empty(self, data: dict, **kwargs) -> None:
        if not data:
            raise ValidationError("nothing to change", field_name="_schema")


class RegisterQuerySchema(Schema):
    """Buku Agenda: outgoing letters of a period."""
    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))

    @validates_schema
    def ordered(self, data: dict, **kwargs) -> None:
        if data["date_from"] > data["date_to"]:
            raise ValidationError("must not be after 'to'", field_name="from")


class CountsQuerySchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    village = fields.String(load_default=None, validate=VILLAGE_CODE)


# -- responses (for the OpenAPI document) ----------------------------------------------------

class AttachmentSchema(Schema):
    id = fields.String()
    kind = fields.String()
    filename = fields.String(allow_none=True)
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_at = fields.String()


class LetterSchema(Schema):
    id = fields.String()
    village_code = fields.String()
    type_code = fields.String()
    type_name = fields.String()
    classification_code = fields.String()
    status = fields.String()
    subject_nik = fields.String()
    subject_name = fields.String()
    purpose = fields.String(allow_none=True)
    fields_ = fields.Dict(data_key="fields", attribute="fields")
    number = fields.String(allow_none=True)
    requested_by = fields.Dict()
    requested_at = fields.String()
    signed_at = fields.String(allow_none=True)
    issued_at = fields.String(allow_none=True)
    valid_until = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    template_version_id = fields.String(allow_none=True)
    pdf = fields.Dict(allow_none=True)
    verification_url = fields.String(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentSchema))
    missing_documents = fields.List(fields.String())
    updated_at = fields.String()


LetterPageSchema = page_schema(LetterSchema, "LetterPage")


class LetterTypeSchema(Schema):
    type_code = fields.String()
    name = fields.String()
    classification_code = fields.String()
    enabled = fields.Boolean()
    resident_may_request = fields.Boolean()
    purpose_required = fields.Boolean()
    required_documents = fields.List(fields.String())
    validity_days = fields.Integer(allow_none=True)
    fields_ = fields.Dict(data_key="fields", attribute="fields")
    template = fields.Dict()
    placeholders = fields.List(fields.String())


class VerificationSchema(Schema):
    valid = fields.Boolean()
    type = fields.String()
    type_name = fields.String()
    number = fields.String()
    village = fields.String()
    village_name = fields.String()
    issued_at = fields.String()
    valid_until = fields.String(allow_none=True)
    holder_name = fields.String()
    nik = fields.String()


class CountSchema(Schema):
    village_code = fields.String()
    month = fields.String()
    requested = fields.Integer()
    issued = fields.Integer()
