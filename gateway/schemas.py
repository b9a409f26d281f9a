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
    district_code = fields.Str(allow_none=True, metadata={
        "description": "A district admin's district (kecamatan)."})


class ImportQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    dry_run = fields.Bool(load_default=False, metadata={
        "description": "Validate and report only; import nothing."})


class HealthSchema(Schema):
    status = fields.Str(required=True, metadata={"example": "ok"})
    checks = fields.Dict(keys=fields.Str(), values=fields.Dict(), metadata={
        "description": "Per dependency: {ok, error?, ...}."})


class ReadinessQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    year = fields.Int(load_default=None, validate=lambda y: 2000 <= y <= 2100, metadata={
        "description": "Budget year of the Dana Desa figures (default: this year)."})


class ReadinessRow(Schema):
    """One village's digital readiness: aggregates joined from registry, letters and finance."""

    code = fields.Str()
    name = fields.Str()
    district_code = fields.Str()
    district_name = fields.Str()
    internet_installed = fields.Bool()
    website = fields.Bool(metadata={"description": "Profile filled in, or a site of its own."})
    requested_recently = fields.Int(metadata={"description": "Letters requested online in the "
                                                             "last 30 days."})
    serving = fields.Bool(metadata={"description": "Digital services active (30 days)."})
    last_request_at = fields.Str(allow_none=True)
    issued_total = fields.Int()
    realised_percent = fields.Float(allow_none=True, metadata={
        "description": "Dana Desa realisation; null without an approved budget."})
    dana_desa_budget = fields.Int(allow_none=True)
