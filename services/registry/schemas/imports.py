"""Registry contract for CSV imports: one spreadsheet row, and the report (see csv_import.py)."""
from __future__ import annotations

import re

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
)

from services.common.fields import RtRw, text
from services.registry import domain
from services.registry.schemas.residents import Address, ResidentInput

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


class ImportedRow(Schema):
    line = fields.Integer()
    nik = fields.String(metadata={"description": "The NIK, or the temporary number given."})


class ImportResult(ImportReport):
    results = fields.List(fields.Nested(ImportedRow), metadata={
        "description": "Per imported row: its line in the file and its NIK."})


class ImportProgress(Schema):
    phase = fields.String(allow_none=True, metadata={
        "description": "parsing, checking or writing while running"})
    rows_done = fields.Integer()
    rows_total = fields.Integer(metadata={"description": "Estimated from the file's lines "
                                                         "until parsed."})


class ImportJobError(Schema):
    code = fields.String()
    message = fields.String()
    fields_ = fields.Dict(data_key="fields", metadata={
        "description": "`rows`: the per-row errors (line, field, message)."})


class ImportJobView(Schema):
    """A background CSV import: queued, running (progress), then succeeded or failed."""

    id = fields.UUID()
    village_code = fields.String()
    status = fields.String(metadata={"description": "queued, running, succeeded or failed"})
    dry_run = fields.Boolean()
    progress = fields.Nested(ImportProgress)
    report = fields.Nested(ImportResult, allow_none=True,
                           metadata={"description": "When succeeded (also for a dry run)."})
    error = fields.Nested(ImportJobError, allow_none=True,
                          metadata={"description": "When failed: nothing was imported."})
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
