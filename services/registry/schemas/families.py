"""Registry contract for the Kartu Keluarga: registering a card, its members and their changes."""
from __future__ import annotations

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from services.registry import domain, identity
from services.registry.schemas.residents import Address


# -- families ------------------------------------------------------------------------------------
def _check_family_number(value: str) -> None:
    try:
        identity.parse_family_number(value)
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
