"""A budget's lines from a spreadsheet: CSV (comma, semicolon or tab) or XLSX.

The first row is the header; columns (case, dots and spaces do not matter, the Indonesian names
of Siskeudes exports are accepted): account_code (Kode Rekening), activity_code (Kode
Kegiatan), source (Sumber Dana), amount (Anggaran, Jumlah; digits, dots between thousands
allowed), description (Uraian). Every row is checked with the same rules as a line entered by
hand; errors carry the line number in the file and the field, and any error means nothing is
imported.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from services.common.rules import RuleError
from services.finance.domain.budgets import LineInput, check_line
from services.finance.reference import Reference

MAX_ROWS = 5_000
FIELDS = ("account_code", "activity_code", "source", "amount", "description")
_ALIASES = {
    "account_code": ("account code", "account", "kode rekening", "rekening", "kode akun"),
    "activity_code": ("activity code", "activity", "kode kegiatan", "kegiatan"),
    "source": ("source", "sumber dana", "sumber"),
    "amount": ("amount", "anggaran", "jumlah", "nilai", "pagu"),
    "description": ("description", "uraian", "keterangan"),
}
_HEADER = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}
_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$")


@dataclass(frozen=True)
class Parsed:
    lines: tuple[LineInput, ...]
    errors: tuple[dict, ...]  # {"line", "field", "message"}
    rows: int


def _normal(header: object) -> str:
    return re.sub(r"[\s._-]+", " ", str(header or "")).strip().lower()


def _amount(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        return int(value)
    text = str(value or "").strip().replace(" ", "")
    if _THOUSANDS.match(text):
        text = text.replace(".", "")
    if not text.isdigit():
        raise ValueError
    return int(text)


def _table(content: bytes, filename: str) -> list[list[object]]:
    if filename.lower().endswith(".xlsx"):
        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        # openpyxl reports a broken workbook in many ways; all mean "not a workbook we read".
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError,
                OSError) as exc:
            raise ValueError("not a readable XLSX workbook") from exc
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError("CSV must be UTF-8 text") from exc
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    return [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def parse(ref: Reference, content: bytes, filename: str) -> Parsed:
    """Lines of a budget from the file; `errors` lists every wrong row (nothing else is kept)."""
    try:
        # Blank rows are skipped but keep their place: errors name the line in the file.
        table = [(number, row) for number, row in enumerate(_table(content, filename), start=1)
                 if any(str(cell or "").strip() for cell in row)]
    except ValueError as exc:
        return Parsed((), ({"line": 1, "field": "file", "message": str(exc)},), 0)
    if not table:
        return Parsed((), ({"line": 1, "field": "file", "message": "the file is empty"},), 0)
    columns = [_HEADER.get(_normal(cell)) for cell in table[0][1]]
    missing = [name for name in ("account_code", "source", "amount") if name not in columns]
    if missing:
        return Parsed((), tuple({"line": 1, "field": name, "message": "missing column"}
                                for name in missing), 0)
    body = table[1:]
    if len(body) > MAX_ROWS:
        return Parsed((), ({"line": 1, "field": "file",
                            "message": f"at most {MAX_ROWS} rows"},), len(body))
    lines, errors = [], []
    for number, row in body:
        cells = {name: cell for name, cell in zip(columns, row, strict=False) if name}
        try:
            amount = _amount(cells.get("amount"))
        except ValueError:
            errors.append({"line": number, "field": "amount",
                           "message": "Amounts are whole rupiah (digits only)."})
            continue
        line = LineInput(account_code=str(cells.get("account_code") or "").strip(),
                         activity_code=str(cells.get("activity_code") or "").strip() or None,
                         source=str(cells.get("source") or "").strip().upper(),
                         amount=amount,
                         description=str(cells.get("description") or "").strip() or None)
        try:
            lines.append(check_line(ref, line))
        except RuleError as exc:
            for field, messages in exc.fields.items():
                errors.extend({"line": number, "field": field, "message": message}
                              for message in messages)
    return Parsed(tuple(lines), tuple(errors), len(body))
