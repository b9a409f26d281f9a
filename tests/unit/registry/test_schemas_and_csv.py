"""Registry contract schemas and CSV parsing/validation (no database)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from marshmallow import ValidationError

from services.common import clock
from services.registry import csv_import
from services.registry.schemas.accounts import AccountCreate, Login
from services.registry.schemas.residents import LifeEventInput, ResidentInput, ResidentUpdate
from services.registry.schemas.villages import VillageSettingsUpdate

WOMAN = {"nik": "3604055208909002", "name": "Siti Contoh", "sex": "P", "birth_place": "Serang",
         "birth_date": "1990-08-12", "religion": "Islam", "marital_status": "Kawin"}


def errors_of(schema, data) -> dict:
    with pytest.raises(ValidationError) as caught:
        schema.load(data)
    return caught.value.messages


class TestResidentInput:
    def test_normalises(self):
        data = ResidentInput().load({**WOMAN, "religion": "ISLAM", "marital_status":
                                             "belum kawin", "address": {"rt": 1, "rw": "02"}})
        assert data["religion"] == "Islam"
        assert data["marital_status"] == "Belum Kawin"
        assert data["address"]["rt"] == "001" and data["address"]["rw"] == "002"
        assert data["birth_date"] == date(1990, 8, 12)
        assert data["citizenship"] == "WNI"

    def test_errors_name_the_field(self):
        messages = errors_of(ResidentInput(), {
            "nik": "12345", "name": "", "sex": "X", "birth_date": "12-08-1990",
            "religion": "Jedi", "extra": 1})
        assert set(messages) >= {"nik", "name", "sex", "birth_place", "birth_date", "religion",
                                 "marital_status", "extra"}

    def test_sex_must_match_the_nik_day(self):
        assert set(errors_of(ResidentInput(), {**WOMAN, "sex": "L"})) == {"sex"}

    def test_birth_date_must_match_the_nik(self):
        assert set(errors_of(ResidentInput(), {**WOMAN, "birth_date": "1990-08-13"})) \
            == {"birth_date"}

    @pytest.mark.parametrize("rt", ["0", "1000", "ab", True, -1])
    def test_bad_rt(self, rt):
        assert "rt" in errors_of(ResidentInput(), {**WOMAN, "address": {"rt": rt}})[
            "address"]

    def test_family_number_needs_relationship(self):
        assert "relationship" in errors_of(ResidentInput(),
                                           {**WOMAN, "family_number": "3604051503159001"})
        assert "family_number" in errors_of(ResidentInput(),
                                            {**WOMAN, "family_number": "3604051503150000",
                                             "relationship": 3})

    def test_birth_date_in_the_future_is_judged_by_the_village_day(self, monkeypatch):
        # Just after midnight WIB the server's UTC day is still yesterday: a baby born today
        # in the village is not born in the future.
        village_today = date.today() + timedelta(days=1)
        monkeypatch.setattr(clock, "local_today", lambda: village_today)
        child = {**WOMAN, "nik": None, "birth_date": village_today.isoformat()}
        assert ResidentInput().load(child)["birth_date"] == village_today
        tomorrow = (village_today + timedelta(days=1)).isoformat()
        assert errors_of(ResidentInput(), {**child, "birth_date": tomorrow}) == {
            "birth_date": ["Birth date is in the future."]}

    def test_update_is_partial(self):
        assert ResidentUpdate().load({"occupation": "Guru"}) == {"occupation": "Guru"}
        assert errors_of(ResidentUpdate(), {}) == {"_schema": ["Nothing to change."]}


class TestOtherSchemas:
    def test_login_takes_exactly_one_pair(self):
        assert Login().load({"username": "demo.officer", "password": "x"})
        assert Login().load({"nik": "3604055208909002", "pin": "123456"})
        assert "_schema" in errors_of(Login(), {})
        assert "_schema" in errors_of(Login(), {"username": "a", "pin": "123456"})
        assert "pin" in errors_of(Login(), {"nik": "3604055208909002"})
        assert "pin" in errors_of(Login(), {"nik": "3604055208909002", "pin": "12"})

    def test_life_event_type_specific_fields(self):
        assert set(errors_of(LifeEventInput(), {"type": "death", "date": "2026-01-01"})
                   ) == {"place", "cause"}
        assert set(errors_of(LifeEventInput(), {"type": "move_out",
                                                        "date": "2026-01-01"})) == {"destination"}
        assert set(errors_of(LifeEventInput(), {"type": "birth",
                                                        "date": "2026-01-01"})) == {"child"}
        assert "type" in errors_of(LifeEventInput(), {"type": "wedding",
                                                              "date": "2026-01-01"})
        loaded = LifeEventInput().load({"type": "missing", "date": "2026-01-01"})
        assert loaded["reported_at"] is None

    def test_account_village_rules(self):
        assert "village_code" in errors_of(AccountCreate(), {
            "role": "officer", "username": "officer.a", "password": "long-enough-pw"})
        assert "village_code" in errors_of(AccountCreate(), {
            "role": "operator", "username": "oper.a", "password": "long-enough-pw",
            "village_code": "36.04.05.2001"})
        assert "password" in errors_of(AccountCreate(), {
            "role": "operator", "username": "oper.a", "password": "short"})

    def test_village_settings(self):
        assert VillageSettingsUpdate().load({"head_name": "Suryana Contoh"}) == {
            "head_name": "Suryana Contoh"}
        assert "letter_number_format" in errors_of(VillageSettingsUpdate(), {
            "letter_number_format": "{code}/{short_code}"})
        assert "letter_number_format" in errors_of(VillageSettingsUpdate(), {
            "letter_number_format": "{code}/{seq}/{unknown}"})
        no_year = errors_of(VillageSettingsUpdate(), {
            "letter_number_format": "{code}/{seq:03d}/{short_code}/{month_roman}"})
        assert "{year}" in no_year["letter_number_format"][0]  # numbers restart every year
        assert "paper_size" in errors_of(VillageSettingsUpdate(), {"paper_size": "A3"})


HEADER = "NIK,Nama,Jenis Kelamin,Tempat Lahir,Tanggal Lahir,Agama,Status Perkawinan,No. KK,SHDK,RT"


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


GOOD_ROWS = (
    "3604051208909001,Budi Contoh,Laki-laki,Serang,12/08/1990,ISLAM,Kawin,3604051503159001,"
    "Kepala Keluarga,1",
    "3604055208909002,Siti Contoh,P,Serang,1990-08-12,Islam,KAWIN,3604051503159001,3,01",
    ",Bayi Contoh,L,Serang,2025-01-05,Islam,Belum Kawin,3604051503159001,4,1",
    "3604051001959003,Joko Contoh,L,Cilegon,10-01-1995,Islam,Belum Kawin,,,2",
)


class TestCsvParsing:
    def test_header_aliases(self):
        assert csv_import.column_for("No. KK") == "family_number"
        assert csv_import.column_for("  tgl_lahir ") == "birth_date"
        assert csv_import.column_for("SHDK") == "relationship"
        assert csv_import.column_for("Jenis Kelamin") == "sex"
        assert csv_import.column_for("Hobi") is None

    def test_good_file(self):
        parsed = csv_import.parse(csv_text(*GOOD_ROWS))
        assert parsed.errors == [] and parsed.count == 4
        assert [row.line for row in parsed.rows] == [2, 3, 4, 5]
        budi, siti, baby, joko = (row.data for row in parsed.rows)
        assert budi["sex"] == "L" and budi["relationship"] == 1
        assert budi["birth_date"] == date(1990, 8, 12)
        assert siti["address"]["rt"] == "001"
        assert baby["nik"] is None
        assert joko["family_number"] is None
        families = csv_import.families_of(parsed.rows)
        assert list(families) == ["3604051503159001"] and len(families["3604051503159001"]) == 3
        assert csv_import.check_rows(parsed.rows, existing_niks=set(),
                                     existing_families=set()) == []

    def test_semicolon_separator_and_bom(self):
        text = "\ufeff" + csv_text(*(row.replace(",", ";") for row in GOOD_ROWS),
                                   header=HEADER.replace(",", ";"))
        parsed = csv_import.parse(text)
        assert parsed.errors == [] and len(parsed.rows) == 4

    def test_errors_carry_line_numbers(self):
        parsed = csv_import.parse(csv_text(
            GOOD_ROWS[0],
            "3604051208909004,Salah Contoh,P,Serang,1990-08-12,Islam,Kawin,,,1",  # sex vs NIK
            "",  # blank lines are skipped but still count for line numbers
            "360405,Pendek Contoh,L,Serang,1990-08-12,Islam,Kawin,,,1",
            "3604051208909005,Tanggal Contoh,L,Serang,31/02/1990,Islam,Kawin,,,1",
        ))
        assert [(e["line"], e["field"]) for e in parsed.errors] == [
            (3, "sex"), (5, "nik"), (6, "birth_date")]
        assert len(parsed.rows) == 1 and parsed.count == 4

    def test_cross_row_checks(self):
        parsed = csv_import.parse(csv_text(
            GOOD_ROWS[0],
            "3604051208909001,Kembar Contoh,L,Serang,1990-08-12,Islam,Kawin,,,1",
            "3604055208909002,Siti Contoh,P,Serang,1990-08-12,Islam,Kawin,3604051503169001,3,1",
            "3604051001959003,Joko Contoh,L,Cilegon,1995-01-10,Islam,Kawin,3604051503159001,1,2",
        ))
        assert parsed.errors == []
        errors = csv_import.check_rows(parsed.rows, existing_niks={"3604051001959003"},
                                       existing_families=set())
        assert sorted((e["line"], e["field"]) for e in errors) == [
            (3, "nik"), (4, "relationship"), (5, "nik"), (5, "relationship")]
        assert "line 2" in next(e for e in errors if e["line"] == 3)["message"]

    def test_existing_family_card(self):
        parsed = csv_import.parse(csv_text(*GOOD_ROWS[:2]))
        errors = csv_import.check_rows(parsed.rows, existing_niks=set(),
                                       existing_families={"3604051503159001"})
        assert [(e["line"], e["field"]) for e in errors] == [(2, "family_number"),
                                                            (3, "family_number")]

    def test_header_problems(self):
        parsed = csv_import.parse("Nama,Hobi\nBudi,Catur\n")
        fields = {e["field"] for e in parsed.errors}
        assert "Hobi" in fields and "sex" in fields and "birth_date" in fields
        assert all(e["line"] == 1 for e in parsed.errors)
        assert csv_import.parse("").errors == [
            {"line": 1, "field": "file", "message": "The file is empty."}]
        assert csv_import.parse(HEADER + "\n").errors[0]["message"] == \
            "No data rows under the header."

    def test_too_many_cells(self):
        parsed = csv_import.parse(csv_text(GOOD_ROWS[3] + ",extra"))
        assert parsed.errors == [{"line": 2, "field": "row",
                                  "message": "11 cells but 10 columns."}]
