"""marshmallow schemas: the letters service's RPC and HTTP contract (the gateway imports these)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common import fields as common
from services.common.pagination import PageArgs, page_schema
from services.letters.domain import ATTACHMENT_KINDS, STATUSES


def _text(max_length: int = 200) -> fields.Field:
    """Required trimmed text: what a letter prints must not be blank, and must be printable
    with the letter's font (ADR 0014)."""
    return common.printed_text(max_length, required=True)


def _name(max_length: int = 100) -> fields.Field:
    """A person's name printed on the letter, written as the population register writes it."""
    return common.person_name(max_length, required=True)


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
    birth_time = fields.String(required=True, validate=common.time_of_day)
    delivery_place = _text(200)
    reporter_name = _name()
    reporter_relation = _text(50)


class DeathFields(Schema):
    """Surat Keterangan Kematian: the subject is the deceased."""
    death_date = fields.Date(required=True)
    death_time = fields.String(load_default=None, validate=common.time_of_day)
    death_place = _text(200)
    cause = _text(200)
    reporter_name = _name()
    reporter_relation = _text(50)


class MovingMember(Schema):
    nik = fields.String(required=True, validate=common.person_number)
    name = _name()


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
    event_time = fields.String(required=True, validate=common.time_of_day)
    event_place = _text(300)
    entertainment = common.printed_text(200)
    guests = fields.Integer(load_default=None, validate=validate.Range(min=1, max=100000))


# -- requests and commands -------------------------------------------------------------------

class LetterRequestSchema(Schema):
    """POST /letters: `subject_nik` is for officers; a resident's letter is about themself."""
    type_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    subject_nik = fields.String(load_default=None, validate=common.person_number)
    purpose = common.PrintedText(load_default=None, allow_none=True,
                                 validate=validate.Length(min=3, max=300))
    fields_ = fields.Dict(data_key="fields", attribute="fields", load_default=dict)


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class AttachmentFormSchema(Schema):
    kind = fields.String(load_default="other", validate=validate.OneOf(ATTACHMENT_KINDS))


class LetterListQuerySchema(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))


class LetterTypesQuerySchema(Schema):
    village = fields.String(required=True, validate=common.village_code)


class LetterTypeChangesSchema(common.PartialUpdate):
    """A village's settings for one letter type; title/body changes make a new template version."""
    enabled = fields.Boolean()
    classification_code = fields.String(validate=validate.Regexp(r"^[0-9][0-9.]{0,11}$"))
    title = common.PrintedText(validate=validate.Length(min=3, max=120))
    body = common.PrintedText(multiline=True, validate=validate.Length(min=10, max=8000))


class RegisterQuerySchema(Schema):
    """Buku Agenda: outgoing letters of a period."""
    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))

    @validates_schema
    def ordered(self, data: dict, **kwargs) -> None:
        if data["date_from"] > data["date_to"]:
            raise ValidationError("must not be after 'to'", field_name="from")


class ParkedQuerySchema(Schema):
    village = fields.String(load_default=None, validate=common.village_code)


class CountsQuerySchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    village = fields.String(load_default=None, validate=common.village_code)


# -- outputs: what the service returns and its events carry (dumped with these) -------------

class AttachmentSchema(Schema):
    id = fields.String()
    kind = fields.String()
    filename = fields.String(allow_none=True)
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_at = fields.DateTime()


class PdfSchema(Schema):
    size = fields.Integer()
    sha256 = fields.String()


class IssuingSchema(Schema):
    """A signed letter waiting for its PDF: failed attempts, the next one, whether it is parked
    for an operator (object storage was down too long)."""
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    parked = fields.Boolean()


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
    requested_at = fields.DateTime()
    signed_by = fields.Dict(allow_none=True)
    signed_at = fields.DateTime(allow_none=True)
    issued_at = fields.DateTime(allow_none=True)
    valid_until = fields.Date(allow_none=True)
    reason = fields.String(allow_none=True)
    template_version_id = fields.String(allow_none=True)
    pdf = fields.Nested(PdfSchema, allow_none=True)
    verification_url = fields.String(allow_none=True)
    issuing = fields.Nested(IssuingSchema, allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentSchema))
    missing_documents = fields.List(fields.String())
    updated_at = fields.DateTime()


class IssueStateSchema(Schema):
    """A signed letter's PDF step as operators see it (no resident data)."""
    id = fields.String()
    village_code = fields.String()
    type_code = fields.String()
    number = fields.String(allow_none=True)
    status = fields.String()
    signed_at = fields.DateTime(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    parked_at = fields.DateTime(allow_none=True)


class TransitionSchema(Schema):
    """One step of a letter's history."""
    from_ = fields.String(data_key="from", attribute="from_status", allow_none=True)
    to = fields.String(attribute="to_status")
    actor = fields.Dict()
    reason = fields.String(allow_none=True)
    at = fields.DateTime()


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
    issued_at = fields.DateTime()
    valid_until = fields.Date(allow_none=True)
    expired = fields.Boolean()
    holder_name = fields.String()
    nik = fields.String()


class CountSchema(Schema):
    village_code = fields.String()
    month = fields.String()
    requested = fields.Integer()
    issued = fields.Integer()
