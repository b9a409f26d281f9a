"""Staff accounts through the API and the portal, in front of the real registry (decision 0100):
a head manages only their own village's office staff, the regency admin every village's staff,
nobody disables themself, a disabled account cannot log in, a password change needs the current
password, a reset clears the lock-out counter, and every change is in the audit log.
"""
from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from tests.integration.gateway.conftest import DISTRICT_A, PASSWORD, VILLAGE_A, VILLAGE_B

pytestmark = pytest.mark.integration


def _name(label: str) -> str:
    return f"gw.{label}.{uuid.uuid4().hex[:8]}"


def _create(gw, who: str, role: str, village: str | None = VILLAGE_A, **extra) -> dict:
    body = {"role": role, "username": _name(role), "password": PASSWORD, **extra}
    if village:
        body["village_code"] = village
    response = gw.request("POST", "/api/v1/accounts", who, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _login(gw, username: str, password: str = PASSWORD):
    return gw.client.post("/api/v1/auth/login", json={"username": username,
                                                      "password": password})


def test_a_head_manages_their_own_village_office_staff_only(gw, accounts):
    mine = _create(gw, "head_a", "treasurer")
    assert (mine["role"], mine["village_code"], mine["active"]) == ("treasurer", VILLAGE_A, True)
    theirs = _create(gw, "admin", "officer", VILLAGE_B)

    listed = gw.request("GET", "/api/v1/accounts?per_page=100", "head_a").get_json()
    names = {item["username"] for item in listed["items"]}
    assert mine["username"] in names and accounts["officer_a"] in names
    assert theirs["username"] not in names and accounts["officer_b"] not in names
    assert accounts["head_a"] not in names  # heads are the regency's to manage
    assert {item["village_code"] for item in listed["items"]} == {VILLAGE_A}
    assert "password" not in str(listed) and "hash" not in str(listed)

    # Another village's account does not exist for the head: 404 on every operation.
    for method, path in (("GET", ""), ("POST", "/disable"), ("POST", "/enable"),
                         ("POST", "/password-reset")):
        response = gw.request(method, f"/api/v1/accounts/{theirs['username']}{path}", "head_a")
        assert response.status_code == 404, (path, response.get_json())
    assert _login(gw, theirs["username"]).status_code == 200  # untouched

    refused = gw.request("POST", "/api/v1/accounts", "head_a", json={
        "role": "officer", "username": _name("x"), "password": PASSWORD,
        "village_code": VILLAGE_B})
    assert refused.status_code == 403
    refused = gw.request("POST", "/api/v1/accounts", "head_a", json={
        "role": "head", "username": _name("x"), "password": PASSWORD, "village_code": VILLAGE_A})
    assert refused.status_code == 403 and "role" in refused.get_json()["error"]["fields"]
    for who in ("officer_a", "camat_a", "operator"):
        assert gw.request("GET", "/api/v1/accounts", who).status_code == 403


def test_disable_and_enable_with_the_login_and_the_audit_log(gw, accounts, registry_engine):
    officer = _create(gw, "head_a", "officer")
    assert _login(gw, officer["username"]).status_code == 200

    disabled = gw.request("POST", f"/api/v1/accounts/{officer['username']}/disable", "head_a")
    assert disabled.status_code == 200 and disabled.get_json()["active"] is False
    refused = _login(gw, officer["username"])
    assert refused.status_code == 401  # the account exists, the right password, disabled
    inactive = gw.request("GET", "/api/v1/accounts?active=false&per_page=100",
                          "head_a").get_json()
    assert officer["username"] in {item["username"] for item in inactive["items"]}

    enabled = gw.request("POST", f"/api/v1/accounts/{officer['username']}/enable", "head_a")
    assert enabled.status_code == 200 and enabled.get_json()["active"] is True
    assert _login(gw, officer["username"]).status_code == 200

    with registry_engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT purpose, actor_role, actor_username, village_code FROM audit_log "
            "WHERE subject_nik = :s ORDER BY id"), {"s": f"account:{officer['id']}"}).all()
    assert [tuple(row) for row in rows] == [
        (f"account.{what}", "head", accounts["head_a"], VILLAGE_A)
        for what in ("created", "disabled", "enabled")]


def test_nobody_disables_themself_and_the_regency_admin_manages_heads(gw, accounts):
    for who in ("admin", "head_a"):
        refused = gw.request("POST", f"/api/v1/accounts/{accounts[who]}/disable", who)
        assert refused.status_code == 403
        assert refused.get_json()["error"]["message"] == "You may not disable your own account."
        assert gw.request("POST", f"/api/v1/accounts/{accounts[who]}/password-reset",
                          who).status_code == 403
    assert _login(gw, accounts["admin"]).status_code == 200
    assert _login(gw, accounts["head_a"]).status_code == 200

    head = _create(gw, "admin", "head", VILLAGE_B)
    camat = _create(gw, "admin", "district_admin", None, district_code=DISTRICT_A)
    for made in (head, camat):
        path = f"/api/v1/accounts/{made['username']}"
        assert gw.request("POST", f"{path}/disable", "admin").get_json()["active"] is False
        assert _login(gw, made["username"]).status_code == 401
        assert gw.request("POST", f"{path}/enable", "admin").get_json()["active"] is True
    # Regency admins and operators are managed with `desa account` only.
    assert gw.request("POST", f"/api/v1/accounts/{accounts['operator']}/disable",
                      "admin").status_code == 404


def test_a_reset_gives_a_temporary_password_and_clears_the_lock(gw, accounts,
                                                               production_lockout):
    officer = _create(gw, "head_a", "secretary")
    for _ in range(5):
        assert _login(gw, officer["username"], "wrong-password-1").status_code == 401
    assert _login(gw, officer["username"]).status_code == 429  # locked

    reset = gw.request("POST", f"/api/v1/accounts/{officer['username']}/password-reset",
                       "head_a")
    assert reset.status_code == 200, reset.get_json()
    temporary = reset.get_json()["password"]
    assert _login(gw, officer["username"]).status_code == 401  # the old one is gone
    logged_in = _login(gw, officer["username"], temporary)
    assert logged_in.status_code == 200  # and so is the lock

    # The owner changes it: the current (temporary) password is required.
    headers = {"Authorization": f"Bearer {logged_in.get_json()['access_token']}"}
    wrong = gw.client.post("/api/v1/auth/password", headers=headers, json={
        "current_password": "not-it-at-all", "new_password": "my-own-password-1"})
    assert wrong.status_code == 400
    assert "current_password" in wrong.get_json()["error"]["fields"]
    short = gw.client.post("/api/v1/auth/password", headers=headers, json={
        "current_password": temporary, "new_password": "short"})
    assert short.status_code == 400 and "new_password" in short.get_json()["error"]["fields"]
    changed = gw.client.post("/api/v1/auth/password", headers=headers, json={
        "current_password": temporary, "new_password": "my-own-password-1"})
    assert changed.status_code == 204
    assert _login(gw, officer["username"], temporary).status_code == 401
    assert _login(gw, officer["username"], "my-own-password-1").status_code == 200


# -- the portal ------------------------------------------------------------------------------
def _portal(gw, username: str, password: str = PASSWORD, home: str = "/akun/kata-sandi"):
    client = gw.client.application.test_client()
    response = client.post("/masuk", data={"cara": "petugas", "username": username,
                                           "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"',
                     client.get(home).get_data(as_text=True))[1]
    return client, csrf


def _error(html: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="e-{re.escape(name)}">([^<]*)</p>', html)
    assert found, f"no error shown at {name}"
    return found[1]


def test_the_heads_akun_petugas_page(gw, accounts):
    theirs = _create(gw, "admin", "officer", VILLAGE_B)
    client, csrf = _portal(gw, accounts["head_a"])
    page = client.get("/kantor/akun").get_data(as_text=True)
    assert 'href="/kantor/akun">Akun petugas</a>' in page  # in the office menu
    assert "Akun petugas" in page and accounts["officer_a"] in page
    assert theirs["username"] not in page

    # Refused: the error at its field in Indonesian, the input kept, the password not.
    username = _name("kaur")
    refused = client.post("/kantor/akun", data={"csrf": csrf, "aksi": "buat",
                                                "role": "treasurer", "username": username,
                                                "password": "pendek"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert _error(html, "password") == "Panjangnya 10 sampai 200 karakter."
    assert f'value="{username}"' in html and "pendek" not in html
    assert 'value="treasurer" selected' in html

    made = client.post("/kantor/akun", data={"csrf": csrf, "aksi": "buat", "role": "treasurer",
                                             "username": username, "password": PASSWORD})
    assert made.status_code == 200 and f"Akun {username} dibuat." in made.get_data(as_text=True)
    disabled = client.post("/kantor/akun", data={"csrf": csrf, "aksi": "nonaktifkan",
                                                 "akun": username})
    assert "dinonaktifkan" in disabled.get_data(as_text=True)
    assert _login(gw, username).status_code == 401
    client.post("/kantor/akun", data={"csrf": csrf, "aksi": "aktifkan", "akun": username})
    reset = client.post("/kantor/akun", data={"csrf": csrf, "aksi": "reset", "akun": username})
    temporary = re.search(r"<strong data-password>([^<]+)</strong>",
                          reset.get_data(as_text=True))[1]
    assert _login(gw, username, temporary).status_code == 200

    # Another village's account is not found; a form without the CSRF token changes nothing.
    assert client.post("/kantor/akun", data={"csrf": csrf, "aksi": "nonaktifkan",
                                             "akun": theirs["username"]}).status_code == 404
    assert client.post("/kantor/akun", data={"aksi": "nonaktifkan",
                                             "akun": username}).status_code == 400
    assert _login(gw, theirs["username"]).status_code == 200
    assert _login(gw, username, temporary).status_code == 200
    # Only a head has the page.
    officer, _ = _portal(gw, accounts["officer_a"])
    assert officer.get("/kantor/akun").status_code == 403
    assert 'href="/kantor/akun"' not in officer.get("/akun/kata-sandi").get_data(as_text=True)


def test_the_regency_admins_account_page(gw, accounts):
    head = _create(gw, "admin", "head", VILLAGE_B)
    client, csrf = _portal(gw, accounts["admin"])
    page = client.get(f"/kabupaten/akun?desa={VILLAGE_B}").get_data(as_text=True)
    assert head["username"] in page and accounts["officer_a"] not in page
    camat = _name("camat")
    made = client.post("/kabupaten/akun", data={"csrf": csrf, "aksi": "buat",
                                                "role": "district_admin", "username": camat,
                                                "district_code": DISTRICT_A,
                                                "password": PASSWORD})
    assert made.status_code == 200, made.get_data(as_text=True)[:500]
    assert _login(gw, camat).get_json()["district_code"] == DISTRICT_A
    client.post("/kabupaten/akun", data={"csrf": csrf, "aksi": "nonaktifkan",
                                         "akun": head["username"]})
    assert _login(gw, head["username"]).status_code == 401
    assert client.get("/kantor/akun").status_code == 403


def test_ganti_kata_sandi(gw, accounts):
    officer = _create(gw, "head_a", "officer")
    client, csrf = _portal(gw, officer["username"])
    assert 'href="/akun/kata-sandi"' in client.get("/akun/kata-sandi").get_data(as_text=True)
    wrong = client.post("/akun/kata-sandi", data={
        "csrf": csrf, "current_password": "bukan-ini-sandinya", "new_password": "sandi-baru-123",
        "new_password_again": "sandi-baru-123"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 400
    assert _error(html, "current_password") == "Kata sandi saat ini salah."
    assert "bukan-ini-sandinya" not in html and "sandi-baru-123" not in html
    mismatch = client.post("/akun/kata-sandi", data={
        "csrf": csrf, "current_password": PASSWORD, "new_password": "sandi-baru-123",
        "new_password_again": "sandi-baru-124"})
    assert _error(mismatch.get_data(as_text=True), "new_password_again")
    done = client.post("/akun/kata-sandi", data={
        "csrf": csrf, "current_password": PASSWORD, "new_password": "sandi-baru-123",
        "new_password_again": "sandi-baru-123"})
    assert done.status_code == 200 and "Kata sandi sudah diganti" in done.get_data(as_text=True)
    assert _login(gw, officer["username"]).status_code == 401
    assert _login(gw, officer["username"], "sandi-baru-123").status_code == 200
