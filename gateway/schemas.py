"""Schemas of the gateway's own shapes: tokens, errors, health, the import query.

The resources themselves (residents, villages, families, login...) use the services' schemas,
imported from services.<name>.schemas and never copied here.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields


class ErrorDetail(Schema):
    code = fields.Str(required=True, metadata={"example": "validation_error"})
    message = fields.Str(required=True)
    fields_ = fields.Dict(data_key="fields", keys=fields.Str(), metadata={
        "description": "Per field (or, for a CSV import, per row) problems, when there are any."})


class ErrorSchema(Schema):
    """The one error body (ARCHITECTURE rule 6)."""

    error = fields.Nested(ErrorDetail, required=True)


class TokenSchema(Schema):
    access_token = fields.Str(required=True)
    token_type = fields.Str(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Int(required=True, metadata={"description": "Seconds."})
    role = fields.Str(required=True)
    village_code = fields.Str(allow_none=True)


class ImportQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    dry_run = fields.Bool(load_default=False, metadata={
        "description": "Validate and report only; import nothing."})


class HealthSchema(Schema):
    status = fields.Str(required=True, metadata={"example": "ok"})
    checks = fields.Dict(keys=fields.Str(), values=fields.Dict(), metadata={
        "description": "Per dependency: {ok, error?, ...}."})
