"""Registry contract for staff accounts, login and the identity the gateway puts into a token."""
from __future__ import annotations

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from services.common import fields as common
from services.common import roles
from services.common.pagination import PageArgs, page_schema

# The rules of a password, at creation and at every change (argon2 hashes it; 200 bounds the work).
PASSWORD_LENGTH = validate.Length(min=10, max=200)
USERNAME = validate.Regexp(r"^[a-z0-9][a-z0-9._-]{2,63}$",
                           error="3-64 characters: lower-case letters, digits, '.', '_' or '-'.")


# -- accounts and login --------------------------------------------------------------------------
class AccountCreate(Schema):
    class Meta:
        unknown = RAISE

    role = fields.String(required=True, validate=validate.OneOf(roles.ACCOUNTS))
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, load_only=True, validate=PASSWORD_LENGTH)
    village_code = fields.String(load_default=None, allow_none=True,
                                 validate=common.village_code)
    district_code = fields.String(load_default=None, allow_none=True,
                                  validate=common.district_code)

    @validates_schema
    def check_village(self, data: dict, **kwargs) -> None:
        if data["role"] in roles.VILLAGE_BOUND and not data.get("village_code"):
            raise ValidationError({"village_code": [f"Required for role {data['role']}."]})
        if data["role"] not in roles.VILLAGE_BOUND and data.get("village_code"):
            raise ValidationError({"village_code": [f"Role {data['role']} is not bound to a "
                                                    "village."]})
        if data["role"] in roles.DISTRICT_BOUND and not data.get("district_code"):
            raise ValidationError({"district_code": [f"Required for role {data['role']}."]})
        if data["role"] not in roles.DISTRICT_BOUND and data.get("district_code"):
            raise ValidationError({"district_code": [f"Role {data['role']} is not bound to a "
                                                     "district."]})


class Account(Schema):
    id = fields.Integer()
    role = fields.String()
    username = fields.String()
    village_code = fields.String(allow_none=True)
    district_code = fields.String(allow_none=True)


class AccountDetails(Account):
    """An account as its managers see it (never its password or hash)."""

    active = fields.Boolean(metadata={"description": "False: disabled, cannot log in."})
    created_at = fields.DateTime(allow_none=True)
    created_by = fields.String(allow_none=True)


AccountPage = page_schema(AccountDetails, "AccountPage")


class AccountListArgs(PageArgs):
    """Filters of the account list; a head sees only their own village's office staff."""

    village_code = fields.String(load_default=None, allow_none=True,
                                 validate=common.village_code)
    role = fields.String(load_default=None, allow_none=True,
                         validate=validate.OneOf(roles.ACCOUNTS))
    active = fields.Boolean(load_default=None, allow_none=True)
    q = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                      metadata={"description": "Part of the username."})


class AccountRef(Schema):
    """The account an operation names (its username, as in the path)."""

    class Meta:
        unknown = RAISE

    username = fields.String(required=True, validate=USERNAME)


class PasswordReset(Schema):
    username = fields.String()
    password = fields.String(metadata={
        "description": "A one-time temporary password, shown once; only its hash is kept. "
                       "Give it to the account's owner, who changes it after logging in."})


class PasswordChange(Schema):
    """A staff user's own new password: the current one is required."""

    class Meta:
        unknown = RAISE

    current_password = fields.String(required=True, load_only=True,
                                     validate=validate.Length(min=1, max=200))
    new_password = fields.String(required=True, load_only=True, validate=PASSWORD_LENGTH)

    @validates_schema
    def a_new_one(self, data: dict, **kwargs) -> None:
        if data.get("current_password") == data.get("new_password"):
            raise ValidationError({"new_password": ["Must differ from the current password."]})


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
    district_code = fields.String(allow_none=True)


class PinIssued(Schema):
    pin = fields.String(metadata={"description": "6 digits, shown once"})
