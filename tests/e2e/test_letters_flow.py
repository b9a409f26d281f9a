"""Issue 3's "done when", over HTTP through gunicorn with every process running.

A resident logs in with NIK + PIN and requests a Surat Keterangan Domisili, an officer checks
it, the head signs it, the resident downloads the PDF, whose QR token verifies as valid while a
tampered one does not. Around it: tenancy, attachments, bad input and the office views.
"""
from __future__ import annotations

import hashlib
import io
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from openpyxl import load_workbook

from tests.unit.letters.samples import png_bytes

pytestmark = pytest.mark.e2e

VILLAGE = "36.04.05.2004"  # Toyomerto
OTHER_VILLAGE = "36.04.05.2006"  # Serdang
NIK = "3604054203919001"  # fake: district 360405, woman born 02-03-1991, serial 9001
OTHER_NIK = "3604050507929002"  # fake: man born 05-07-1992, serial 9002


def person(nik: str, name: str, sex: str, birth_date: str) -> dict:
    return {"nik": nik, "name": name, "sex": sex, "birth_place": "Serang",
            "birth_date": birth_date, "religion": "Islam", "citizenship": "WNI",
            "marital_status": "Kawin", "occupation": "Pedagang", "education": "SLTA/Sederajat",
            "address": {"dusun": "Toyomerto", "rw": "003", "rt": "002",
                        "street": "Kp. Toyomerto"}}


def until(call, ok, timeout: float = 30.0):
    """Retry `call` until `ok(response)`: registry events reach letters within seconds."""
    deadline = time.monotonic() + timeout
    while True:
        response = call()
        if ok(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.3)


@pytest.fixture(scope="module")
def people(platform):
    officer = platform.auth(platform.staff_token("officer", VILLAGE))
    pins = {}
    for nik, name, sex, born in ((NIK, "Siti Rahmawati", "P", "1991-03-02"),
                                 (OTHER_NIK, "Joko Susilo", "L", "1992-07-05")):
        response = requests.post(platform.api(f"/villages/{VILLAGE}/residents"),
                                 json=person(nik, name, sex, born), headers=officer, timeout=30)
        assert response.status_code == 201, response.text
        response = requests.post(platform.api(f"/residents/{nik}/pin"), headers=officer,
                                 timeout=30)
        assert response.status_code == 201, response.text
        pins[nik] = response.json()["pin"]
    return {
        "resident": platform.auth(platform.login_pin(NIK, pins[NIK])),
        "other_resident": platform.auth(platform.login_pin(OTHER_NIK, pins[OTHER_NIK])),
        "officer": officer,
        "head": platform.auth(platform.staff_token("head", VILLAGE)),
        "other_officer": platform.auth(platform.staff_token("officer", OTHER_VILLAGE)),
        "other_head": platform.auth(platform.staff_token("head", OTHER_VILLAGE)),
    }


def test_resident_to_verified_pdf(platform, people):
    resident, officer, head = people["resident"], people["officer"], people["head"]
    body = {"type_code": "domisili", "purpose": "Persyaratan melamar pekerjaan", "fields": {}}
    response = until(lambda: requests.post(platform.api("/letters"), json=body, headers=resident,
                                           timeout=30),
                     lambda r: r.status_code != 404)  # until the resident.registered event
    assert response.status_code == 201, response.text
    letter = response.json()
    assert letter["status"] == "submitted" and letter["type_code"] == "domisili"
    assert letter["subject_nik"] == NIK and letter["number"] is None
    letter_id = letter["id"]

    upload = requests.post(platform.api(f"/letters/{letter_id}/attachments"), headers=resident,
                           files={"file": ("ktp.png", png_bytes(), "image/png")},
                           data={"kind": "ktp"}, timeout=30)
    assert upload.status_code == 201, upload.text
    assert upload.json()["attachments"][0]["content_type"] == "image/png"
    disguised = requests.post(platform.api(f"/letters/{letter_id}/attachments"),
                              headers=resident, data={"kind": "kk"}, timeout=30,
                              files={"file": ("kk.pdf", b"#!/bin/sh\necho hi\n",
                                              "application/pdf")})
    assert disguised.status_code == 400, disguised.text
    assert disguised.json()["error"]["code"] == "validation_error"

    queue = requests.get(platform.api(f"/villages/{VILLAGE}/letters"),
                         params={"status": "submitted"}, headers=officer, timeout=30).json()
    assert letter_id in [item["id"] for item in queue["items"]]
    assert set(queue) == {"items", "total", "page", "per_page"}

    assert requests.post(platform.api(f"/letters/{letter_id}/sign"), headers=officer,
                         timeout=30).status_code == 403  # officers do not sign
    checked = requests.post(platform.api(f"/letters/{letter_id}/check"), headers=officer,
                            timeout=30)
    assert checked.status_code == 200, checked.text
    assert checked.json()["status"] == "checked"

    signed = requests.post(platform.api(f"/letters/{letter_id}/sign"), headers=head, timeout=30)
    assert signed.status_code == 200, signed.text
    number = signed.json()["number"]
    month = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"][
        datetime.now(UTC).astimezone(ZoneInfo("Asia/Jakarta")).month - 1]
    assert number.startswith("470/") and f"/2004/{month}/" in number

    mine = until(lambda: requests.get(platform.api(f"/letters/{letter_id}"), headers=resident,
                                      timeout=30),
                 lambda r: r.json().get("verification_url"))
    url = mine.json()["verification_url"]
    assert url.startswith(f"{platform.url}/api/v1/verify/")

    pdf = requests.get(platform.api(f"/letters/{letter_id}/pdf"), headers=resident, timeout=30)
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert hashlib.sha256(pdf.content).hexdigest() == pdf.headers["X-Content-SHA256"]
    assert requests.get(platform.api(f"/letters/{letter_id}"), headers=resident,
                        timeout=30).json()["status"] == "downloaded"

    verified = requests.get(url, timeout=30)  # public: no token
    assert verified.status_code == 200
    result = verified.json()
    assert result["valid"] is True and result["number"] == number
    assert result["holder_name"] == "S*** R********"
    assert result["nik"] == "3604********9001"
    assert result["village"] == VILLAGE and result["type"] == "domisili"

    token = url.rsplit("/", 1)[1]
    tampered = token[:10] + ("B" if token[10] != "B" else "C") + token[11:]
    assert requests.get(platform.api(f"/verify/{tampered}"), timeout=30).json() == {
        "valid": False}

    uploaded = requests.post(platform.api("/verify"), timeout=30,
                             files={"file": ("surat.pdf", pdf.content, "application/pdf")})
    assert uploaded.json()["valid"] is True and uploaded.json()["number"] == number
    altered = pdf.content[:-20] + b"%altered" + pdf.content[-12:]
    assert requests.post(platform.api("/verify"), timeout=30, files={
        "file": ("surat.pdf", altered, "application/pdf")}).json() == {"valid": False}

    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Jakarta")).date().isoformat()
    register = requests.get(platform.api(f"/villages/{VILLAGE}/letters/register"),
                            params={"from": today, "to": today, "format": "csv"},
                            headers=officer, timeout=30)
    assert register.status_code == 200
    assert number in register.content.decode("utf-8-sig")
    workbook = requests.get(platform.api(f"/villages/{VILLAGE}/letters/register"),
                            params={"from": today, "to": today, "format": "xlsx"},
                            headers=officer, timeout=30)
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content))["Buku Agenda"]
    assert number in [row[1] for row in sheet.iter_rows(min_row=4, values_only=True)]
    stats = requests.get(platform.api("/letter-stats"), params={"year": today[:4]},
                         headers=officer, timeout=30).json()
    assert any(s["village_code"] == VILLAGE and s["issued"] >= 1 for s in stats)


def test_tenancy_and_privacy(platform, people):
    body = {"type_code": "pengantar", "purpose": "Mengurus BPJS"}
    response = until(lambda: requests.post(platform.api("/letters"), json=body,
                                           headers=people["resident"], timeout=30),
                     lambda r: r.status_code != 404)
    assert response.status_code == 201, response.text
    letter_id = response.json()["id"]

    for headers in (people["other_officer"], people["other_resident"]):
        assert requests.get(platform.api(f"/letters/{letter_id}"), headers=headers,
                            timeout=30).status_code == 404
    assert requests.post(platform.api(f"/letters/{letter_id}/check"),
                         headers=people["other_officer"], timeout=30).status_code == 404
    assert requests.get(platform.api(f"/villages/{VILLAGE}/letters"),
                        headers=people["other_officer"], timeout=30).status_code == 403
    assert requests.get(platform.api(f"/residents/{NIK}/letters"),
                        headers=people["other_resident"], timeout=30).status_code == 404
    # A resident asks only for themself.
    response = requests.post(platform.api("/letters"), headers=people["resident"], timeout=30,
                             json={**body, "subject_nik": OTHER_NIK})
    assert response.status_code == 403
    # An officer of another village cannot request for this village's resident.
    response = requests.post(platform.api("/letters"), headers=people["other_officer"],
                             timeout=30, json={**body, "subject_nik": NIK})
    assert response.status_code == 404
    assert requests.get(platform.api("/letters"), timeout=30).status_code in (401, 405)
    assert requests.get(platform.api(f"/letters/{letter_id}"), timeout=30).status_code == 401


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"type_code": "domisili"}, 400, "purpose"),
    ({"purpose": "Melamar kerja"}, 400, "type_code"),
    ({"type_code": "domisili", "purpose": "Melamar kerja", "subject_nik": "12ab"}, 400,
     "subject_nik"),
    ({"type_code": "usaha", "purpose": "Pinjaman", "fields": {"since": "dulu"}}, 400, "fields"),
    ({"type_code": "nikah", "purpose": "Menikah"}, 404, "type_code"),
])
def test_bad_input_gets_the_documented_error_and_changes_nothing(platform, people, body, status,
                                                                 field):
    officer = people["officer"]
    before = requests.get(platform.api(f"/villages/{VILLAGE}/letters"), headers=officer,
                          timeout=30).json()["total"]
    response = requests.post(platform.api("/letters"), headers=officer, timeout=30,
                             json={"subject_nik": OTHER_NIK, **body})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == ("validation_error" if status == 400 else "not_found")
    assert field in error.get("fields", {}), error
    after = requests.get(platform.api(f"/villages/{VILLAGE}/letters"), headers=officer,
                         timeout=30).json()["total"]
    assert after == before


def test_letter_types_of_a_village(platform, people):
    response = requests.get(platform.api("/letter-types"), params={"village": VILLAGE},
                            headers=people["resident"], timeout=30)
    assert response.status_code == 200
    types = {t["type_code"]: t for t in response.json()}
    assert len(types) == 10 and types["kematian"]["resident_may_request"] is False
    assert requests.get(platform.api("/letter-types"), params={"village": OTHER_VILLAGE},
                        headers=people["resident"], timeout=30).status_code == 403


def test_letters_keep_working_while_registry_is_stopped(platform, people):
    """Tokens were issued before; letters answers from its own read model of residents."""
    resident, officer, head = people["resident"], people["officer"], people["head"]
    body = {"type_code": "skck", "purpose": "Melamar pekerjaan"}
    until(lambda: requests.post(platform.api("/letters"), json=body, headers=resident,
                                timeout=30), lambda r: r.status_code != 404)  # read model ready
    platform.stop_service("registry")
    try:
        assert requests.get(platform.api(f"/residents/{NIK}"), headers=officer,
                            timeout=60).status_code == 503  # registry really is gone
        response = requests.post(platform.api("/letters"), json=body, headers=resident,
                                 timeout=30)
        assert response.status_code == 201, response.text
        letter_id = response.json()["id"]
        assert requests.post(platform.api(f"/letters/{letter_id}/check"), headers=officer,
                             timeout=30).status_code == 200
        signed = requests.post(platform.api(f"/letters/{letter_id}/sign"), headers=head,
                               timeout=30)
        assert signed.status_code == 200, signed.text
        assert signed.json()["number"].startswith("331/")
    finally:
        platform.start_service("registry")
