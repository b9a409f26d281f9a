"""Bulk import of residents and family cards from a CSV exported from a village spreadsheet.

The first row is the header. Columns (case, dots and spaces in headers do not matter; the
Indonesian names villages use are accepted as aliases):

Required: name, sex, birth_place, birth_date, religion, marital_status.

- nik: NIK (blank gives a temporary village number)
- name: Nama, Nama Lengkap
- sex: Jenis Kelamin, JK, L/P (values L, P, Laki-laki, Perempuan)
- birth_place: Tempat Lahir
- birth_date: Tanggal Lahir, Tgl Lahir (YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY)
- religion: Agama (Islam, Kristen, Katolik, Hindu, Buddha, Khonghucu, Kepercayaan)
- marital_status: Status Perkawinan, Status Kawin (Belum Kawin, Kawin, Cerai Hidup, Cerai Mati)
- citizenship: Kewarganegaraan (WNI or WNA; default WNI)
- blood_type: Golongan Darah, Gol Darah
- occupation: Pekerjaan; education: Pendidikan
- family_number: No KK, No. KK, Nomor KK
- relationship: SHDK, Hubungan Keluarga, Hubungan (1..11 or the name, e.g. "Istri");
  required with No KK
- father_name, father_nik, mother_name, mother_nik: Nama Ayah, NIK Ayah, Nama Ibu, NIK Ibu
- ektp_status: Status KTP-el, Status E-KTP, KTP-el
- phone: Telepon, No HP, HP; email: Email
- dusun: Dusun; rw: RW; rt: RT (1 or "001"); street: Alamat, Jalan
- birth_certificate_number, marriage_certificate_number, divorce_certificate_number:
  No Akta Lahir, No Akta Nikah, No Akta Cerai

Separator: comma, semicolon or tab (detected from the header). Every row is checked (form, NIK
rules, duplicates within the file and against the registry, one head per family card, a family
card not already registered); errors carry the line number in the file. Rows sharing a No KK
become one family card with the row whose SHDK is 1 as its head.
"""
from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from marshmallow import ValidationError, missing

from services.registry import domain
from services.registry.schemas.imports import ResidentImportRow

MAX_ROWS = 100_000
TICK_ROWS = 200

_ALIASES = {
    "nik": ("nik", "no nik", "nomor nik"),
    "name": ("name", "nama", "nama lengkap"),
    "sex": ("sex", "jenis kelamin", "jk", "l p", "kelamin"),
    "birth_place": ("birth place", "tempat lahir"),
    "birth_date": ("birth date", "tanggal lahir", "tgl lahir"),
    "religion": ("religion", "agama"),
    "marital_status": ("marital status", "status perkawinan", "status kawin", "perkawinan"),
    "citizenship": ("citizenship", "kewarganegaraan", "warga negara"),
    "blood_type": ("blood type", "golongan darah", "gol darah"),
    "occupation": ("occupation", "pekerjaan"),
    "education": ("education", "pendidikan", "pendidikan terakhir"),
    "family_number": ("family number", "no kk", "nomor kk", "no kartu keluarga", "kk"),
    "relationship": ("relationship", "shdk", "hubungan keluarga", "hubungan",
                     "status hubungan dalam keluarga"),
    "father_name": ("father name", "nama ayah"),
    "father_nik": ("father nik", "nik ayah"),
    "mother_name": ("mother name", "nama ibu"),
    "mother_nik": ("mother nik", "nik ibu"),
    "ektp_status": ("ektp status", "status ktp el", "status e ktp", "ktp el", "e ktp"),
    "phone": ("phone", "telepon", "no hp", "hp", "no telepon"),
    "email": ("email", "e mail"),
    "dusun": ("dusun",),
    "rw": ("rw",),
    "rt": ("rt",),
    "street": ("street", "alamat", "jalan"),
    "birth_certificate_number": ("birth certificate number", "no akta lahir",
                                 "akta kelahiran"),
    "marriage_certificate_number": ("marriage certificate number", "no akta nikah",
                                    "akta perkawinan"),
    "divorce_certificate_number": ("divorce certificate number", "no akta cerai",
                                   "akta perceraian"),
}
_HEADER_LOOKUP = {alias: column for column, aliases in _ALIASES.items() for alias in aliases}
REQUIRED_COLUMNS = ("name", "sex", "birth_place", "birth_date", "religion", "marital_status")
HEADER_LINE = 1

_ROW_SCHEMA = ResidentImportRow()


class RowLoader:
    """`_ROW_SCHEMA.load(raw)` for one parse, faster (decision 0102): the same schema's own
    fields, hooks and validators, without marshmallow's per-row machinery, and each field's
    result remembered per distinct cell value (a column repeats a few dozen values: religion,
    SHDK, dusun, dates, names). A field's `deserialize` depends on its cell alone; what depends
    on the whole row (the schema validators: NIK against sex and birth date, No. KK with SHDK,
    a birth date in the future) runs for every row. A row that fails anywhere is loaded again
    by marshmallow itself, so refusals and their messages are marshmallow's exactly.
    tests/unit/registry/test_import_row_loader.py holds the two together."""

    REMEMBER = 5_000  # distinct values remembered per column (a NIK column never repeats)

    def __init__(self, schema=None):
        self.schema = schema or _ROW_SCHEMA
        hooks = {key: list(value) for key, value in self.schema._hooks.items() if value}
        unknown_hooks = set(hooks) - {"pre_load", "validates_schema", "post_load"}
        if unknown_hooks or any(many or options.get("pass_original") or
                                options.get("pass_collection")
                                for entries in hooks.values() for _, many, options in entries):
            raise TypeError(f"RowLoader does not handle the hooks {hooks}")
        self.pre_load = [getattr(self.schema, name) for name, _, _ in hooks.get("pre_load", ())]
        self.validators = [getattr(self.schema, name)
                           for name, _, _ in hooks.get("validates_schema", ())]
        self.post_load = [getattr(self.schema, name)
                          for name, _, _ in hooks.get("post_load", ())]
        self.fields = []
        for name, field in self.schema.load_fields.items():
            if field.data_key not in (None, name) or field.attribute not in (None, name):
                raise TypeError(f"RowLoader does not handle renamed fields ({name})")
            self.fields.append((name, field, {}))
        self.names = frozenset(name for name, _, _ in self.fields)
        self.schema_unknown = self.schema.unknown

    def load(self, raw: dict) -> dict:
        data = self._fast(raw)
        return self.schema.load(raw) if data is None else data

    def _fast(self, raw: dict) -> dict | None:
        """The loaded row, or None where marshmallow must say what is wrong."""
        kwargs = {"many": False, "partial": None, "unknown": self.schema_unknown}
        try:
            data = raw
            for hook in self.pre_load:
                data = hook(data, **kwargs)
            if not self.names.issuperset(data):
                return None
            result = {}
            for name, field, remembered in self.fields:
                value = data.get(name, missing)
                if value is missing:
                    value = field.deserialize(missing, name, data)
                elif isinstance(value, str):
                    known = remembered.get(value, remembered)
                    if known is remembered:
                        try:
                            known = field.deserialize(value, name, data)
                        except ValidationError:
                            known = ValidationError
                        if len(remembered) < self.REMEMBER:
                            remembered[value] = known
                    if known is ValidationError:
                        return None
                    value = known
                else:
                    value = field.deserialize(value, name, data)
                if value is not missing:
                    result[name] = value
            for validator in self.validators:
                validator(result, **kwargs)
            for hook in self.post_load:
                result = hook(result, **kwargs)
            return result
        except ValidationError:
            return None


@dataclass(frozen=True)
class Row:
    """A row that passed the form checks; `data` is ResidentInput-shaped."""

    line: int
    data: dict


@dataclass(frozen=True)
class Parsed:
    rows: list[Row]
    errors: list[dict]
    count: int  # data rows in the file, valid or not


def normalise_header(text: str) -> str:
    """ "No. KK" -> "no kk", "Tgl_Lahir" -> "tgl lahir"."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.strip().lower()).split())


def column_for(header: str) -> str | None:
    return _HEADER_LOOKUP.get(normalise_header(header))


def error(line: int, field: str, message: str) -> dict:
    return {"line": line, "field": field, "message": message}


def _flatten(messages, prefix: str = "") -> Iterable[tuple[str, str]]:
    """marshmallow's nested messages -> (field, message) pairs; CSV columns are flat."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            field = str(key) if key not in ("address", "_schema") else prefix
            yield from _flatten(value, field or prefix)
    elif isinstance(messages, list | tuple):
        for value in messages:
            yield from _flatten(value, prefix)
    else:
        yield prefix or "row", str(messages)


def _dialect(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def parse(csv_text: str, tick: Callable[[int], None] | None = None) -> Parsed:
    """Read the file and check each row's form. Returns valid rows and per-line errors.

    `tick(rows so far)` is called every TICK_ROWS rows (progress, and a chance to yield).
    """
    text = (csv_text or "").lstrip("\ufeff")
    if not text.strip():
        return Parsed([], [error(HEADER_LINE, "file", "The file is empty.")], 0)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(text.splitlines()[0]))
    header = next(reader)
    columns, errors = [], []
    for position, name in enumerate(header, start=1):
        column = column_for(name)
        if column is None and name.strip():
            errors.append(error(HEADER_LINE, name.strip(),
                                f"Unknown column {position} {name.strip()!r}."))
        elif column is not None and column in columns:
            errors.append(error(HEADER_LINE, column, f"Column {name.strip()!r} appears twice."))
        columns.append(column)
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            errors.append(error(HEADER_LINE, column, f"Required column {column} is missing."))
    if errors:
        return Parsed([], errors, 0)
    rows, count, loader = [], 0, RowLoader()
    line = reader.line_num
    for cells in reader:
        start, line = line + 1, reader.line_num  # a quoted cell may span lines
        if not any(cell.strip() for cell in cells):
            continue
        count += 1
        if tick is not None and count % TICK_ROWS == 0:
            tick(count)
        if count > MAX_ROWS:
            errors.append(error(start, "file", f"More than {MAX_ROWS} rows; split the file."))
            break
        if len(cells) > len(columns):
            errors.append(error(start, "row", f"{len(cells)} cells but {len(columns)} columns."))
            continue
        raw = {column: cell.strip() for column, cell in zip(columns, cells, strict=False)
               if column is not None}
        try:
            rows.append(Row(start, loader.load(raw)))
        except ValidationError as exc:
            errors.extend(error(start, field, message)
                          for field, message in _flatten(exc.messages))
    if count == 0:
        errors.append(error(HEADER_LINE, "file", "No data rows under the header."))
    return Parsed(rows, errors, count)


def families_of(rows: list[Row]) -> dict[str, list[Row]]:
    families: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.data.get("family_number"):
            families[row.data["family_number"]].append(row)
    return dict(families)


def check_rows(rows: list[Row], *, existing_niks: set[str],
               existing_families: set[str]) -> list[dict]:
    """Checks across rows and against the registry: duplicates and family cards."""
    errors = []
    first_line: dict[str, int] = {}
    for row in rows:
        nik = row.data.get("nik")
        if not nik:
            continue
        if nik in existing_niks:
            errors.append(error(row.line, "nik", "A resident with this NIK is already "
                                                 "registered."))
        if nik in first_line:
            errors.append(error(row.line, "nik", f"Same NIK as line {first_line[nik]}."))
        else:
            first_line[nik] = row.line
    for number, members in families_of(rows).items():
        if number in existing_families:
            errors.extend(error(r.line, "family_number", "This No. KK is already registered.")
                          for r in members)
            continue
        heads = [r for r in members if r.data["relationship"] == domain.HEAD_OF_FAMILY]
        if not heads:
            errors.append(error(members[0].line, "relationship",
                                f"Family card {number} has no head (SHDK 1)."))
        for extra in heads[1:]:
            errors.append(error(extra.line, "relationship",
                                f"Family card {number} already has a head on line "
                                f"{heads[0].line}."))
    return errors
