"""Bad input gets the documented error body and changes nothing (ARCHITECTURE rule 6)."""
from __future__ import annotations

import io

import pytest

from tests.integration.gateway.conftest import (
    VILLAGE_A,
    fake_nik,
    follow_import,
    resident_data,
)

RESIDENTS = f"/api/v1/villages/{VILLAGE_A}/residents"


def _male_nik_with_female_day() -> tuple[str, str]:
    nik, born = fake_nik("L")
    day = int(nik[6:8]) + 40
    return f"{nik[:6]}{day:02d}{nik[8:]}", born


def bad_residents() -> list[tuple[str, dict, str]]:
    mismatched, born = _male_nik_with_female_day()
    return [
        ("malformed NIK", resident_data(nik="36040512019"), "nik"),
        ("letters in NIK", resident_data(nik="3604x51201519001"), "nik"),
        ("NIK day says female, sex says male", resident_data(nik=mismatched, birth_date=born,
                                                            sex="L"), "nik|sex"),
        ("missing name", {k: v for k, v in resident_data().items() if k != "name"}, "name"),
        ("missing sex", {k: v for k, v in resident_data().items() if k != "sex"}, "sex"),
        ("birth date wrongly typed", resident_data(birth_date=19900101), "birth_date"),
        ("birth date not a date", resident_data(birth_date="31-02-1990"), "birth_date"),
        ("sex not L/P", resident_data(sex="X"), "sex"),
        ("relationship wrongly typed", resident_data(family_number="3604071503159001",
                                                     relationship="head"), "relationship"),
        ("address not an object", resident_data(address="Kp. Contoh"), "address"),
        ("unknown field", resident_data(favourite_colour="blue"), "favourite_colour"),
    ]


@pytest.mark.parametrize("label, body, field", bad_residents(),
                         ids=[case[0] for case in bad_residents()])
def test_bad_resident_is_400_with_the_field_and_changes_nothing(gw, snapshot, label, body,
                                                                field):
    before = snapshot()
    response = gw.request("POST", RESIDENTS, "officer_a", json=body)
    assert response.status_code == 400, (label, response.get_json())
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert set(field.split("|")) & set(error["fields"]), error
    assert snapshot() == before


def test_invalid_json_is_400_and_changes_nothing(gw, snapshot):
    before = snapshot()
    response = gw.request("POST", RESIDENTS, "officer_a", data='{"nik": "36040',
                          content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "validation_error"
    assert snapshot() == before


def test_body_that_is_not_an_object_is_400(gw, snapshot):
    before = snapshot()
    response = gw.request("POST", RESIDENTS, "officer_a", json=["not", "an", "object"])
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "validation_error"
    assert snapshot() == before


def test_oversized_body_is_413_and_changes_nothing(registry_service, app_factory, accounts,
                                                   snapshot):
    from tests.integration.gateway.conftest import Gateway

    gw = Gateway(app_factory(max_request_bytes=4096).test_client(), accounts)
    before = snapshot()
    body = resident_data(occupation="x" * 10_000)
    response = gw.request("POST", RESIDENTS, "officer_a", json=body)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    upload = gw.request("POST", f"{RESIDENTS}/import", "officer_a",
                        data={"file": (io.BytesIO(b"x" * 10_000), "big.csv")},
                        content_type="multipart/form-data")
    assert upload.status_code == 413
    assert snapshot() == before


def test_duplicate_nik_is_409_and_changes_nothing(gw, snapshot):
    data = resident_data()
    assert gw.request("POST", RESIDENTS, "officer_a", json=data).status_code == 201
    before = snapshot()
    again = gw.request("POST", RESIDENTS, "officer_a", json={**data, "name": "Orang Lain"})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "conflict"
    assert snapshot() == before


def test_bad_patch_and_life_event_change_nothing(gw, snapshot):
    resident = gw.register()
    path = f"/api/v1/residents/{resident['nik']}"
    before = snapshot()
    for method, url, body, field in (
            ("PATCH", path, {"birth_date": "not a date"}, "birth_date"),
            ("PATCH", path, {"sex": 1}, "sex"),
            ("PATCH", path, {}, "_schema"),
            ("POST", f"{path}/events", {"type": "death"}, "date"),
            ("POST", f"{path}/events", {"type": "explosion", "date": "2024-01-01"}, "type"),
            ("POST", f"{path}/events", {"type": "death", "date": "2024-01-01"}, "place")):
        response = gw.request(method, url, "officer_a", json=body)
        assert response.status_code == 400, (body, response.get_json())
        assert field in response.get_json()["error"]["fields"], response.get_json()
    assert snapshot() == before
    assert gw.request("GET", path, "officer_a").get_json() == resident


def test_bad_query_parameters_are_400(gw):
    for query in ("page=0", "per_page=1000", "page=abc", "status=asleep", "rt=abc"):
        response = gw.request("GET", f"{RESIDENTS}?{query}", "officer_a")
        assert response.status_code == 400, query
        assert response.get_json()["error"]["code"] == "validation_error"


def test_csv_with_broken_rows_fails_its_job_per_row_and_imports_nothing(gw, snapshot):
    good_nik, good_born = fake_nik("L")
    bad_nik, _ = fake_nik("P")
    text = ("NIK,Nama,Jenis Kelamin,Tempat Lahir,Tanggal Lahir,Agama,Status Perkawinan\n"
            f"{good_nik},Warga Baik,L,Serang,{good_born},Islam,Kawin\n"
            f"{bad_nik[:10]},Warga Rusak,L,Serang,1990-01-01,Islam,Kawin\n"
            f"{fake_nik('L')[0]},,L,Serang,1990-13-45,Islam,Kawin\n")
    path = f"{RESIDENTS}/import"
    before = snapshot()
    dry = gw.request("POST", f"{path}?dry_run=true", "officer_a", data=text,
                     content_type="text/csv")
    assert dry.status_code == 202
    job = follow_import(gw, dry.get_json()["url"])
    assert job["status"] == "succeeded"
    assert {problem["line"] for problem in job["report"]["errors"]} == {3, 4}

    response = gw.request("POST", path, "officer_a",
                          data={"file": (io.BytesIO(text.encode()), "warga.csv")},
                          content_type="multipart/form-data")
    assert response.status_code == 202
    job = follow_import(gw, response.get_json()["url"])
    assert job["status"] == "failed" and job["report"] is None
    error = job["error"]
    assert error["code"] == "unprocessable"
    assert {problem["line"] for problem in error["fields"]["rows"]} == {3, 4}
    assert snapshot() == before


def test_import_without_a_file_is_400(gw, snapshot):
    before = snapshot()
    path = f"{RESIDENTS}/import"
    assert gw.request("POST", path, "officer_a", json={"csv": "x"}).status_code == 400
    assert gw.request("POST", path, "officer_a", data=b"",
                      content_type="text/csv").status_code == 400
    assert gw.request("POST", path, "officer_a", data=b"\xff\xfe\x00bad",
                      content_type="text/csv").status_code == 400
    assert snapshot() == before


def test_names_are_written_as_the_population_register_writes_them(gw):
    """Issue 7, item 17: this name was accepted and printed with black boxes on letters."""
    refused = gw.request("POST", f"/api/v1/villages/{VILLAGE_A}/residents", "officer_a",
                         json=resident_data(name="Ma'ruf Āmin Ñúñez 😀 محمد"))
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["code"] == "validation_error" and list(error["fields"]) == ["name"]
    assert "'😀' (U+1F600)" in error["fields"]["name"][0]
    emoji_place = gw.request("POST", f"/api/v1/villages/{VILLAGE_A}/residents", "officer_a",
                             json=resident_data(birth_place="Serang 🏠"))
    assert emoji_place.status_code == 400
    assert list(emoji_place.get_json()["error"]["fields"]) == ["birth_place"]

    accepted = gw.register(name="Ma\u2019ruf  Āmin Ñúñez")
    assert accepted["name"] == "Ma'ruf Āmin Ñúñez"  # accented Latin kept, apostrophe plain
