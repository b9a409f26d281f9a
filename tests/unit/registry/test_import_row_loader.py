"""The import's RowLoader (decision 0102) against marshmallow's own load of the same schema: for
many generated rows, valid and invalid at the edges of every rule, both give the same record or
the same refusal with the same messages. One loader takes all rows, as in a parse, so values it
remembered from earlier rows (good or bad) meet later rows with other cells beside them."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from marshmallow import ValidationError

from services.common import clock
from services.registry import csv_import
from services.registry.schemas.imports import ResidentImportRow
from tests.support.fakes import fake_nik

MAN, WOMAN = date(1975, 5, 1), date(1978, 6, 2)
MAN_NIK, WOMAN_NIK = fake_nik(MAN, "L"), fake_nik(WOMAN, "P")
TOMORROW = clock.local_today() + timedelta(days=1)

# Cells per column: valid forms and the edges of each rule.
CELLS = {
    "nik": [None, "", MAN_NIK, WOMAN_NIK, MAN_NIK[:-1], MAN_NIK + "1", "36040501019500x1",
            "3604051313750001", "3604053201750001", "3604050105750000", "3604057201750001",
            fake_nik(date(1980, 1, 1), "L", district="999901"), " " + MAN_NIK],
    "name": ["Budi", "H. Ahmad Fauzi, S.Pd.", "Ma\u2019ruf  Amin", "Éric Dàvid", "Budi2",
             "Бори", "...", "  ", "x" * 120, "x" * 121, "Siti\u200bNur", "Budi\tSan"],
    "sex": ["L", "P", "l", "Perempuan", "laki-laki", "Pria", "X", "", None],
    "birth_place": ["Serang", "Kp. Baru", "", "東京", "x" * 121, "Tab\there"],
    "birth_date": [f"{MAN:%d-%m-%Y}", f"{WOMAN:%d/%m/%Y}", MAN.isoformat(),
                   WOMAN.isoformat(), f"{MAN:%d.%m.%Y}", "1-5-1975", "31-02-1975",
                   "1975/05/01", "kemarin", TOMORROW.isoformat(), "", None],
    "religion": ["Islam", "islam", "KRISTEN", "Kepercayaan", "Atheis", ""],
    "marital_status": ["Kawin", "belum kawin", "Cerai Mati", "Janda", None],
    "citizenship": [None, "WNI", "wna", "ID"],
    "blood_type": [None, "A", "ab+", "Tidak Tahu", "Z"],
    "occupation": [None, "Petani", "Guru\u2014Honorer", "😀", "x" * 121],
    "education": [None, "SLTA/Sederajat", "\u0645"],
    "family_number": [None, "3604061503159001", "3604061503159000", "3604063202150001",
                      "3604060101990001", "360406150315900", "3604061503159001 "],
    "relationship": [None, "1", "Istri", "anak", "11", "12", "0", "Sepupu", "04"],
    "father_name": [None, "Ahmad", "Ahmad 2"],
    "father_nik": [None, MAN_NIK, "TMP-3604052001-000001", "123"],
    "mother_name": [None, "Siti", "-"],
    "mother_nik": [None, WOMAN_NIK, "TMP-36040520-1"],
    "ektp_status": [None, "Sudah Rekam", "x" * 41],
    "phone": [None, "+62 812-3456-7890", "0812", "nomor"],
    "email": [None, "a@b.id", "not-an-email", "a@b"],
    "dusun": [None, "Dusun Satu", "x" * 81],
    "rw": [None, "1", "001", "0", "1000", "a"],
    "rt": [None, "12", "999", "-1"],
    "street": [None, "Jl. Raya No. 1", "Back\\slash"],
    "birth_certificate_number": [None, "AL-1", "x" * 61],
    "marriage_certificate_number": [None, "AN-2"],
    "divorce_certificate_number": [None, "AC-3"],
}
GOOD = {"nik": MAN_NIK, "name": "Budi Contoh", "sex": "L", "birth_place": "Serang",
        "birth_date": f"{MAN:%d-%m-%Y}", "religion": "Islam", "marital_status": "Kawin",
        "family_number": "3604061503159001", "relationship": "1", "rw": "1", "rt": "2"}


def outcome(load, raw: dict):
    try:
        return "loaded", load(dict(raw))
    except ValidationError as exc:
        return "refused", exc.messages


def generated_rows(count: int, seed: int = 99) -> list[dict]:
    chance = random.Random(seed)
    rows = [dict(GOOD)]
    for column, cells in CELLS.items():  # each edge alone in an otherwise good row
        rows += [{**GOOD, column: cell} for cell in cells]
    while len(rows) < count:  # and mixed: several columns off at once, or none
        row = dict(GOOD)
        for column in chance.sample(sorted(CELLS), chance.randint(0, 6)):
            row[column] = chance.choice(CELLS[column])
        rows.append(row)
    rows.append({**GOOD, "hobby": "catur"})  # a column the schema does not know
    return [{k: v for k, v in row.items() if v is not None} for row in rows]


def test_same_records_and_refusals_as_marshmallow():
    schema, loader = ResidentImportRow(), csv_import.RowLoader()
    rows = generated_rows(4000)
    verdicts = {"loaded": 0, "refused": 0}
    for raw in rows:
        expected = outcome(schema.load, raw)
        assert outcome(loader.load, raw) == expected, raw
        verdicts[expected[0]] += 1
    # Both kinds in numbers, so the comparison means something.
    assert verdicts["loaded"] > 300 and verdicts["refused"] > 1000, verdicts


def test_rules_of_the_whole_row_run_for_every_row():
    """A cell seen before in a good row is remembered; the row's rules still run."""
    loader = csv_import.RowLoader()
    assert loader.load(dict(GOOD))["sex"] == "L"
    with pytest.raises(ValidationError) as refused:
        loader.load({**GOOD, "nik": WOMAN_NIK})  # every cell known; the NIK says a woman
    assert set(refused.value.messages) == {"sex"}
    with pytest.raises(ValidationError) as refused:
        loader.load({**GOOD, "relationship": ""})  # No. KK without SHDK
    assert refused.value.messages == {"relationship": ["Required with family_number (SHDK "
                                                       "1..11)."]}


def test_parse_loads_with_the_loader(monkeypatch):
    calls = []
    original = csv_import.RowLoader._fast
    monkeypatch.setattr(csv_import.RowLoader, "_fast",
                        lambda self, raw: calls.append(raw) or original(self, raw))
    header = ",".join(GOOD)
    parsed = csv_import.parse(f"{header}\n{','.join(GOOD.values())}\n")
    assert parsed.errors == [] and len(calls) == 1
    assert parsed.rows[0].data == ResidentImportRow().load(dict(GOOD))
