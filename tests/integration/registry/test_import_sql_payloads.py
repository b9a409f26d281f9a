"""The CSV import builds its rows, events, history and audit lines in SQL (decision 0102); what
it writes must be what the registry's Python writes for the same resident anywhere else: the
`resident.registered` payload is `events.resident_state` of the stored record, the card's event
is `events.family_state`, the history line is `records.registration_changes`, the envelope has
`make_envelope`'s keys. Edge cases of every part of the payload: temporary numbers, women's
NIK days, an unknown district (a warning), every optional column, text COPY must escape."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa

from services.common.events import SCHEMA_VERSION, make_envelope, to_json_safe
from services.common.outbox import Outbox
from services.common.service import unit_of_work
from services.registry import events
from services.registry.app import imports, records
from services.registry.models import Family, Resident
from tests.support.fakes import fake_nik

pytestmark = pytest.mark.integration

VILLAGE = "36.04.06.2005"
ACTOR = {"username": "officer.payloads", "role": "officer"}
COLUMNS = ("nik", "name", "sex", "birth_place", "birth_date", "religion", "marital_status",
           "citizenship", "blood_type", "occupation", "education", "family_number",
           "relationship", "father_name", "father_nik", "mother_name", "mother_nik",
           "ektp_status", "phone", "email", "dusun", "rw", "rt", "street",
           "birth_certificate_number", "marriage_certificate_number",
           "divorce_certificate_number")


def spreadsheet() -> tuple[str, list[dict]]:
    father = fake_nik(date(1970, 1, 31), "L")
    mother = fake_nik(date(1972, 2, 29), "P")  # a leap day, women's day + 40
    people = [
        # A card whose head is not its first line, two children, a grandchild.
        {"nik": fake_nik(date(1999, 12, 1), "P"), "name": "Siti Nur-Aini", "sex": "P",
         "birth_date": "01-12-1999", "family_number": "3604061503150007", "relationship": "4",
         "father_name": "Ahmad Fauzi", "father_nik": father, "mother_name": "Ma'ruf Ibu",
         "mother_nik": mother, "email": "siti@example.id", "phone": "+62 812-3456-7890",
         "blood_type": "ab+", "street": "Kp. Back\\slash\tTab", "dusun": "Dusun \"Satu\"",
         "rw": "1", "rt": "001"},
        {"nik": father, "name": "H. Ahmad Fauzi, S.Pd.", "sex": "L", "birth_date": "1970-01-31",
         "family_number": "3604061503150007", "relationship": "Kepala Keluarga",
         "occupation": "Petani", "education": "SLTA", "ektp_status": "Sudah Rekam",
         "marriage_certificate_number": "AK-1/2/3", "street": "Jl. Kepala", "rw": "2",
         "rt": "3", "dusun": "Dusun Kepala"},
        {"nik": mother, "name": "Ma'ruf Ibu", "sex": "P", "birth_date": "29/02/1972",
         "family_number": "3604061503150007", "relationship": "3", "marital_status": "Kawin"},
        {"nik": "", "name": "Bayi Tanpa NIK", "sex": "L", "birth_date": "2025-06-01",
         "family_number": "3604061503150007", "relationship": "6",
         "birth_certificate_number": "3604-LT-01\\N"},
        {"nik": fake_nik(date(2001, 3, 4), "L"), "name": "Anak Kedua", "sex": "L",
         "birth_date": "04-03-2001", "family_number": "3604061503150007", "relationship": "4"},
        # Unknown district prefix: a warning in the payload, not a refusal.
        {"nik": fake_nik(date(1980, 10, 10), "L", district="999901"), "name": "Éric Dàvid",
         "sex": "L", "birth_date": "10-10-1980", "citizenship": "WNA", "marital_status":
         "Cerai Hidup", "divorce_certificate_number": "C-9"},
        {"nik": "", "name": "Tanpa Nomor Kedua", "sex": "P", "birth_date": "1990-01-01"},
        # A second card, its head first.
        {"nik": fake_nik(date(1960, 5, 5), "P"), "name": "Nenek Sendiri", "sex": "P",
         "birth_date": "05-05-1960", "family_number": "3604061504150008", "relationship": "1",
         "marital_status": "Cerai Mati"},
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for person in people:
        row = {"birth_place": "Serang", "religion": "Islam", "marital_status": "Belum Kawin",
               **person}
        writer.writerow([row.get(column, "") for column in COLUMNS])
    return out.getvalue(), people


def test_sql_built_rows_are_what_the_python_writes(db, registry_engine):
    text, people = spreadsheet()
    with unit_of_work(db):
        outbox_from = db.scalar(sa.text("SELECT coalesce(max(id), 0) FROM outbox"))
        report = imports.import_residents(db, Outbox("registry"), VILLAGE, text, False, ACTOR)
    assert report["errors"] == [] and report["imported"] == len(people)
    assert report["families"] == 2
    niks = [result["nik"] for result in report["results"]]
    assert [r["line"] for r in report["results"]] == list(range(2, len(people) + 2))
    assert sum(nik.startswith("TMP-3604062005-") for nik in niks) == 2

    envelopes = db.scalars(sa.text("SELECT envelope FROM outbox WHERE id > :first ORDER BY id"),
                           {"first": outbox_from}).all()
    registered = [e for e in envelopes if e["type"] == events.RESIDENT_REGISTERED]
    cards = [e for e in envelopes if e["type"] == events.FAMILY_UPDATED]
    # Residents in file order, then the cards in the order of their first line.
    assert [e["aggregate_id"] for e in envelopes] == niks + ["3604061503150007",
                                                             "3604061504150008"]
    assert len({e["event_id"] for e in envelopes}) == len(envelopes)
    model = make_envelope(source="registry", type="x", village_code=VILLAGE, aggregate_id="x",
                          payload={})
    for envelope in envelopes:
        assert set(envelope) == set(model)
        assert envelope["source"] == "registry" and envelope["village_code"] == VILLAGE
        assert envelope["schema_version"] == SCHEMA_VERSION

    db.expire_all()
    for nik, envelope in zip(niks, registered, strict=True):
        resident = db.scalar(sa.select(Resident).where(Resident.nik == nik))
        state = events.resident_state(resident)
        assert envelope["payload"] == state
        [change] = db.execute(sa.text(
            "SELECT actor, reason, changes FROM resident_changes WHERE resident_id = :id"),
            {"id": resident.id}).all()
        assert change.actor == ACTOR and change.reason == "imported"
        assert change.changes == to_json_safe(records.registration_changes(state))
    payloads = {e["aggregate_id"]: e["payload"] for e in registered}
    assert payloads[niks[5]]["warnings"] == [
        "NIK district prefix 999901 is not a known district code (old codes exist; check "
        "the card)"]
    assert payloads[niks[3]]["warnings"] == [
        "temporary village number: no NIK issued by Dukcapil yet"]
    assert payloads[niks[2]]["warnings"] == [] and payloads[niks[2]]["birth_date"] == \
        "1972-02-29"
    assert payloads[niks[0]]["address"] == {"dusun": 'Dusun "Satu"', "rw": "001", "rt": "001",
                                            "street": "Kp. Back\\slash\tTab"}
    assert payloads[niks[3]]["birth_certificate_number"] == "3604-LT-01\\N"
    assert payloads[niks[0]]["blood_type"] == "AB+"

    for envelope in cards:
        family = db.scalar(sa.select(Family).where(Family.number == envelope["aggregate_id"]))
        assert envelope["payload"] == events.family_state(family)
    first = cards[0]["payload"]
    assert first["head_nik"] == niks[1] and first["address"]["dusun"] == "Dusun Kepala"
    assert [(m["nik"], m["relationship"]) for m in first["members"]] == [
        (niks[1], 1), (niks[2], 3), (niks[0], 4), (niks[4], 4), (niks[3], 6)]

    audit_rows = db.execute(sa.text(
        "SELECT subject_nik, village_code, action, purpose, actor_role, actor_username "
        "FROM audit_log WHERE actor_username = :u ORDER BY id"),
        {"u": ACTOR["username"]}).all()
    assert [tuple(row) for row in audit_rows] == [
        (nik, VILLAGE, "change", "resident.imported", "officer", ACTOR["username"])
        for nik in niks]
