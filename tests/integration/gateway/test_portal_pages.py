"""The portal's pages through the in-process gateway in front of the real registry: the same
tenancy as the API, CSRF on every form, logins that keep what was typed, no NIK in public data.
"""
from __future__ import annotations

import re

import pytest

from tests.integration.gateway.conftest import PASSWORD, VILLAGE_A, VILLAGE_B, fake_family_number

pytestmark = pytest.mark.integration

SECRET_NAME = "Nama Rahasia Portal B"


def log_in(client, username: str) -> None:
    response = client.post("/masuk", data={"cara": "petugas", "username": username,
                                           "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html)[1]


@pytest.fixture
def people(gw):
    mine = gw.register(who="officer_a", village=VILLAGE_A, name="Warga Portal A")
    number = fake_family_number()
    made = gw.request("POST", f"/api/v1/villages/{VILLAGE_A}/families", "officer_a",
                      json={"number": number, "head_nik": mine["nik"]})
    assert made.status_code == 201, made.get_json()
    theirs = gw.register(who="officer_b", village=VILLAGE_B, name=SECRET_NAME)
    their_number = fake_family_number()
    made = gw.request("POST", f"/api/v1/villages/{VILLAGE_B}/families", "officer_b",
                      json={"number": their_number, "head_nik": theirs["nik"]})
    assert made.status_code == 201, made.get_json()
    return {"mine": mine, "family": number, "theirs": theirs, "their_family": their_number}


def test_an_officer_sees_only_their_own_village_on_the_portal(gw, accounts, people):
    client = gw.client
    log_in(client, accounts["officer_a"])
    theirs = people["theirs"]["nik"]
    for path in (f"/kantor/penduduk/{theirs}", f"/kantor/kk/{people['their_family']}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert SECRET_NAME not in response.get_data(as_text=True)
    families = client.get("/kantor/kk").get_data(as_text=True)
    assert people["family"] in families and people["their_family"] not in families
    found = client.get(f"/kantor/penduduk?q={theirs[:10]}").get_data(as_text=True)
    assert SECRET_NAME not in found
    mine = client.get(f"/kantor/penduduk/{people['mine']['nik']}")
    assert mine.status_code == 200 and "Warga Portal A" in mine.get_data(as_text=True)
    assert mine.headers["Cache-Control"] == "private, no-store"
    assert "script-src 'none'" in mine.headers["Content-Security-Policy"]
    # The API's family list has the same scope.
    assert gw.request("GET", f"/api/v1/villages/{VILLAGE_B}/families",
                      "officer_a").status_code == 403
    listed = gw.request("GET", f"/api/v1/villages/{VILLAGE_A}/families?q={people['family']}",
                        "officer_a").get_json()
    assert [item["number"] for item in listed["items"]] == [people["family"]]


def test_forms_need_the_csrf_token_of_the_login(gw, accounts, people, registry_engine):
    client = gw.client
    log_in(client, accounts["officer_a"])
    path = f"/kantor/penduduk/{people['mine']['nik']}"
    refused = client.post(path, data={"aksi": "pin"})
    assert refused.status_code == 400 and "PIN baru" not in refused.get_data(as_text=True)
    refused = client.post(path, data={"aksi": "pin", "csrf": "0" * 32})
    assert refused.status_code == 400
    token = csrf_of(client.get(path).get_data(as_text=True))
    issued = client.post(path, data={"aksi": "pin", "csrf": token})
    assert issued.status_code == 200 and "PIN baru" in issued.get_data(as_text=True)


def test_a_wrong_login_keeps_the_username_and_pages_need_a_login(gw, accounts):
    client = gw.client
    assert client.get("/kantor").headers["Location"].startswith("/masuk?next=/kantor")
    wrong = client.post("/masuk", data={"cara": "petugas", "username": accounts["officer_a"],
                                        "password": "salah-sekali"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 401 and "salah" in html
    assert f'value="{accounts["officer_a"]}"' in html and "salah-sekali" not in html
    empty = client.post("/masuk", data={"cara": "warga", "nik": "", "pin": ""})
    assert empty.status_code == 400 and 'id="e-nik"' in empty.get_data(as_text=True)
    followed = client.post("/masuk?next=//evil.example/", data={
        "cara": "petugas", "username": accounts["officer_a"], "password": PASSWORD})
    assert followed.headers["Location"] == "/kantor"  # never sent to another host
    assert client.get("/kabupaten").status_code == 403  # not the regency admin's page
    # Logged in, even the login form wants the CSRF token.
    assert client.post("/masuk", data={"cara": "petugas", "username": "x",
                                       "password": "y"}).status_code == 400


def test_public_statistics_have_no_personal_data_and_qr_codes_open_the_page(gw, people):
    client = gw.client
    stats = client.get(f"/api/v1/public/villages/{VILLAGE_A}/statistics")
    assert stats.status_code == 200 and stats.get_json()["total"] >= 1
    assert people["mine"]["nik"] not in stats.get_data(as_text=True)
    page = client.get(f"/desa/{VILLAGE_A}/statistik")
    assert page.status_code == 200 and page.headers["Cache-Control"].startswith("public")
    assert people["mine"]["nik"] not in page.get_data(as_text=True)
    assert client.get("/desa/36.04.99.2999").status_code == 404
    qr = client.get("/api/v1/verify/abc.def", headers={"Accept": "text/html,*/*;q=0.8"})
    assert qr.status_code == 303 and qr.headers["Location"] == "/verifikasi/abc.def"


def test_the_import_page_shows_a_running_jobs_progress(gw, accounts, registry_engine):
    """Rows done of the total and the phase, from the registry's import job, until its report;
    another village's job is not found."""
    import uuid
    from datetime import UTC, datetime

    import sqlalchemy as sa

    mine, theirs = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    with registry_engine.begin() as conn:  # a job a registry process is writing right now
        for job_id, village in ((mine, VILLAGE_A), (theirs, VILLAGE_B)):
            conn.execute(sa.text(
                "INSERT INTO import_jobs (id, village_code, status, dry_run, phase, rows_total,"
                " rows_done, attempts, created_at, started_at, heartbeat_at) VALUES (:id, :v,"
                " 'running', false, 'writing', 1200, 450, 1, :now, :now, :now)"),
                {"id": job_id, "v": village, "now": now})
    client = gw.client
    log_in(client, accounts["officer_a"])
    page = client.get(f"/kantor/impor/{mine}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Refresh"] == "2"
    assert 'max="1200" value="450"' in html and "Menyimpan" in html
    assert "450 dari 1200 baris" in html
    assert client.get(f"/kantor/impor/{theirs}").status_code == 404
    with registry_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM import_jobs WHERE id IN (:a, :b)"),
                     {"a": mine, "b": theirs})


def _error_at(html: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="e-{re.escape(name)}">([^<]*)</p>', html)
    assert found, f"no error shown at {name}"
    return found[1]


def test_a_refused_form_says_why_in_indonesian(gw, accounts, people):
    """The services answer in English (the API's language); the office reads Indonesian."""
    client = gw.client
    log_in(client, accounts["officer_a"])
    token = csrf_of(client.get("/kantor/penduduk/baru").get_data(as_text=True))
    refused = client.post("/kantor/penduduk/baru", data={
        "csrf": token, "nik": "12345", "sex": "L", "birth_date": "1990-02-30"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert _error_at(html, "nik") == "NIK harus 16 angka."
    assert _error_at(html, "name") == "Wajib diisi."
    assert "Tanggal tidak sah" in _error_at(html, "birth_date")
    assert "must be" not in html and "Missing data" not in html
    # A refusal without a field (the NIK is taken) is said in the message box.
    taken = client.post("/kantor/penduduk/baru", data={
        "csrf": token, "nik": people["mine"]["nik"], "name": "Warga Kembar", "sex": "L",
        "birth_date": people["mine"]["birth_date"], "birth_place": "Serang",
        "religion": "Islam", "marital_status": "Kawin", "occupation": "Petani",
        "address.dusun": "Kaum", "address.rw": "001", "address.rt": "002"})
    assert taken.status_code == 400
    assert "NIK ini sudah terdaftar." in taken.get_data(as_text=True)
