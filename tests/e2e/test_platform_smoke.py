"""Issue 2's "done when", over HTTP through gunicorn with every process running.

An officer created with `desa account create` (password on stdin) logs in, registers a resident,
reads it back, records a death and sees the status change; health, readiness and the OpenAPI
document are served.
"""
from __future__ import annotations

import time

import requests

VILLAGE = "36.04.05.2002"
NIK = "3604051201909001"  # fake: district 360405, born 12-01-1990, serial 9001


def resident_data() -> dict:
    return {
        "nik": NIK, "name": "Budi Contoh", "sex": "L", "birth_place": "Serang",
        "birth_date": "1990-01-12", "religion": "Islam", "citizenship": "WNI",
        "marital_status": "Kawin", "occupation": "Petani", "education": "SLTA/Sederajat",
        "address": {"dusun": "Dusun I", "rw": "002", "rt": "001", "street": "Kp. Contoh"},
    }


def test_health_and_readiness(platform):
    assert requests.get(f"{platform.url}/healthz", timeout=10).status_code == 200
    assert requests.get(f"{platform.url}/readyz", timeout=10).status_code == 200


def test_openapi_document_is_served(platform):
    response = requests.get(platform.api("/openapi.json"), timeout=10)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/auth/login" in document["paths"]
    assert "/api/v1/residents/{nik}" in document["paths"]


def test_officer_registers_a_resident_and_records_a_death(platform):
    created = platform.create_account("officer", "smoke.officer", "smoke-Pa55word!", VILLAGE)
    assert created["role"] == "officer" and created["village_code"] == VILLAGE
    token = platform.login("smoke.officer", "smoke-Pa55word!")
    auth = platform.auth(token)

    response = requests.post(platform.api(f"/villages/{VILLAGE}/residents"),
                             json=resident_data(), headers=auth, timeout=30)
    assert response.status_code == 201, response.text
    assert response.json()["nik"] == NIK

    response = requests.get(platform.api(f"/residents/{NIK}"), headers=auth, timeout=30)
    assert response.status_code == 200, response.text
    resident = response.json()
    assert (resident["name"], resident["status"], resident["village_code"]) == (
        "Budi Contoh", "alive", VILLAGE)

    death = {"type": "death", "date": "2026-01-10", "place": "Serang", "time": "10:30",
             "cause": "Sakit", "reporter": "Siti Contoh"}
    response = requests.post(platform.api(f"/residents/{NIK}/events"), json=death,
                             headers=auth, timeout=30)
    assert response.status_code in (200, 201), response.text

    response = requests.get(platform.api(f"/residents/{NIK}"), headers=auth, timeout=30)
    assert response.json()["status"] == "dead"


def test_wrong_password_is_refused(platform):
    platform.create_account("officer", "smoke.other", "right-Pa55word!", VILLAGE)
    response = requests.post(platform.api("/auth/login"),
                             json={"username": "smoke.other", "password": "wrong"}, timeout=30)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_stopped_service_shows_on_the_status_page_and_leaves_the_gateway_ready(platform):
    readyz, statusz = f"{platform.url}/readyz", f"{platform.url}/statusz"
    platform.stop_service("registry")
    try:
        # The gateway stays in service (letters, /verify go on); the status page names registry.
        assert requests.get(readyz, timeout=30).status_code == 200
        response = requests.get(statusz, timeout=30)
        assert response.status_code == 503
        assert response.json()["checks"]["registry"]["ok"] is False
        started = time.monotonic()
        refused = requests.post(platform.api("/auth/login"), timeout=30, json={
            "username": "smoke.other", "password": "right-Pa55word!"})
        assert refused.status_code == 503 and "Retry-After" in refused.headers
        assert time.monotonic() - started < 5
    finally:
        platform.start_service("registry")
    assert requests.get(statusz, timeout=30).status_code == 200
    assert platform.login("smoke.other", "right-Pa55word!")


def test_csv_import_runs_as_a_job_in_the_registry_processes(platform):
    """POST answers 202 with a job URL; a registry process runs it; the URL gives the result."""
    import time

    token = platform.staff_token("officer", VILLAGE)
    csv_text = ("NIK;Nama;JK;Tempat Lahir;Tgl Lahir;Agama;Status Kawin\n"
                "3604051502859001;Impor Contoh;L;Serang;15-02-1985;Islam;Kawin\n"
                "3604055502879001;Impor Contoh Dua;P;Serang;15-02-1987;Islam;Kawin\n")
    response = requests.post(platform.api(f"/villages/{VILLAGE}/residents/import"),
                             data=csv_text.encode(), timeout=30,
                             headers={**platform.auth(token), "Content-Type": "text/csv"})
    assert response.status_code == 202, response.text
    url = platform.url + response.headers["Location"]
    deadline = time.monotonic() + 60
    while True:
        job = requests.get(url, headers=platform.auth(token), timeout=30).json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert job["status"] == "succeeded", job
    assert [row["nik"] for row in job["report"]["results"]] == [
        "3604051502859001", "3604055502879001"]
