"""Registry contract for the portal's village-wide views: population statistics, family list."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.pagination import PageArgs, page_schema


class FamilyListArgs(PageArgs):
    q = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120),
                      metadata={"description": "Start of the No. KK or part of the head's name"})


class FamilySummary(Schema):
    """One family card in the village's list: number, head, members now, address."""

    number = fields.String()
    head_nik = fields.String(allow_none=True)
    head_name = fields.String(allow_none=True)
    members = fields.Integer()
    dusun = fields.String(allow_none=True)
    rw = fields.String(allow_none=True)
    rt = fields.String(allow_none=True)
    street = fields.String(allow_none=True)


FamilyPage = page_schema(FamilySummary, "FamilyPage")


class PopulationCount(Schema):
    label = fields.String()
    count = fields.Integer()


class PopulationStatistics(Schema):
    """Living residents by sex, age group, education and occupation; no personal data."""

    village_code = fields.String()
    total = fields.Integer()
    by_sex = fields.List(fields.Nested(PopulationCount))
    by_age = fields.List(fields.Nested(PopulationCount))
    by_education = fields.List(fields.Nested(PopulationCount))
    by_occupation = fields.List(fields.Nested(PopulationCount))
