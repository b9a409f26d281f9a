"""Registry contract for villages: the list and the settings a village may change."""
from __future__ import annotations

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
)

from services.common import fields as common
from services.common import letter_numbers
from services.common.fields import PartialUpdate
from services.common.pagination import MAX_PER_PAGE, PageArgs, page_schema


class VillageListArgs(PageArgs):
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    district_code = fields.String(load_default=None, allow_none=True,
                                  validate=common.district_code)




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
    office_address = common.printed_text(300)
    head_name = common.person_name(120)
    head_title = common.PrintedText(validate=validate.Length(min=1, max=80))
    secretary_name = common.person_name(120)
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
