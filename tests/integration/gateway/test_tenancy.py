"""Villages are tenants: an officer of village A gets 403/404 on EVERY resident and family route
of village B, and nothing in B changes."""
from __future__ import annotations

import io
import uuid

import pytest

from tests.integration.gateway.conftest import VILLAGE_B, fake_family_number, resident_data

SECRET_NAME = "Nama Rahasia Desa B"


@pytest.fixture
def village_b(gw):
    """A resident and a family card of village B, made by B's own officer."""
    head = gw.register(who="officer_b", village=VILLAGE_B, name=SECRET_NAME)
    number = fake_family_number()
    made = gw.request("POST", f"/api/v1/villages/{VILLAGE_B}/families", "officer_b",
                      json={"number": number, "head_nik": head["nik"]})
    assert made.status_code == 201, made.get_json()
    return {"nik": head["nik"], "family": number}


def routes_of_b(b: dict) -> list[tuple[str, str, dict]]:
    nik, number = b["nik"], b["family"]
    return [
        ("POST", f"/api/v1/villages/{VILLAGE_B}/residents", {"json": resident_data()}),
        ("GET", f"/api/v1/villages/{VILLAGE_B}/residents", {}),
        ("GET", f"/api/v1/villages/{VILLAGE_B}/residents?q={nik[:8]}", {}),
        ("GET", f"/api/v1/residents/{nik}", {}),
        ("PATCH", f"/api/v1/residents/{nik}", {"json": {"occupation": "Nelayan"}}),
        ("GET", f"/api/v1/residents/{nik}/history", {}),
        ("POST", f"/api/v1/residents/{nik}/events", {"json": {
            "type": "move_out", "date": "2024-01-05", "destination": "Jakarta"}}),
        ("POST", f"/api/v1/residents/{nik}/pin", {}),
        ("POST", f"/api/v1/villages/{VILLAGE_B}/families", {"json": {
            "number": fake_family_number(), "head_nik": nik}}),
        ("GET", f"/api/v1/families/{number}", {}),
        ("POST", f"/api/v1/villages/{VILLAGE_B}/residents/import", {
            "data": b"NIK,Nama\n", "content_type": "text/csv"}),
        ("POST", f"/api/v1/villages/{VILLAGE_B}/residents/import?dry_run=true", {
            "data": {"file": (io.BytesIO(b"NIK,Nama\n"), "x.csv")},
            "content_type": "multipart/form-data"}),
        ("GET", f"/api/v1/villages/{VILLAGE_B}/residents/imports/{uuid.uuid4()}", {}),
    ]


@pytest.mark.parametrize("who", ["officer_a", "head_a"])
def test_staff_of_village_a_reach_nothing_of_village_b(gw, village_b, snapshot, who):
    before = snapshot()
    resident_before = gw.request("GET", f"/api/v1/residents/{village_b['nik']}",
                                 "officer_b").get_json()
    for method, path, kwargs in routes_of_b(village_b):
        response = gw.request(method, path, who, **kwargs)
        assert response.status_code in (403, 404), (method, path, response.status_code)
        assert response.get_json()["error"]["code"] in ("forbidden", "not_found")
        # An error may repeat the NIK the caller sent, never anything of B's record.
        assert SECRET_NAME not in response.get_data(as_text=True)
    assert snapshot() == before
    assert gw.request("GET", f"/api/v1/residents/{village_b['nik']}",
                      "officer_b").get_json() == resident_before


def test_village_b_officer_still_reaches_own_data(gw, village_b):
    """The same routes work for B's officer: the 403/404s above are tenancy, not breakage."""
    assert gw.request("GET", f"/api/v1/residents/{village_b['nik']}",
                      "officer_b").status_code == 200
    assert gw.request("GET", f"/api/v1/families/{village_b['family']}",
                      "officer_b").status_code == 200
    assert gw.request("GET", f"/api/v1/residents/{village_b['nik']}/history",
                      "officer_b").status_code == 200


def test_search_without_a_village_is_the_own_village_for_staff_and_the_regency_for_admins(
        gw, village_b):
    """GET /residents?q=: an officer of A never finds B's resident; the regency admin does."""
    mine = gw.register(who="officer_a", name="Nama Rahasia Desa A")
    # The whole name: other tests of the session register "Nama Rahasia …" people in A too.
    by_a = gw.request("GET", "/api/v1/residents?q=nama rahasia desa a", "officer_a")
    assert by_a.status_code == 200
    assert [r["nik"] for r in by_a.get_json()["items"]] == [mine["nik"]]
    assert SECRET_NAME not in by_a.get_data(as_text=True)
    by_nik = gw.request("GET", f"/api/v1/residents?q={village_b['nik']}", "officer_a")
    assert by_nik.status_code == 200 and by_nik.get_json()["total"] == 0
    admin = gw.request("GET", "/api/v1/residents?q=nama rahasia desa", "admin").get_json()
    assert {mine["nik"], village_b["nik"]} <= {r["nik"] for r in admin["items"]}
