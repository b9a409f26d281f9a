"""GET /api/v1/residents/{nik}/reads: a resident sees who read their record (UU 27/2022 PDP);
staff of their village and regency admins may look too, operators and other villages may not."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.integration.gateway.conftest import VILLAGE_A, VILLAGE_B, fake_family_number


def resident_login(gw, nik: str) -> dict:
    pin = gw.request("POST", f"/api/v1/residents/{nik}/pin", "officer_a").get_json()["pin"]
    login = gw.client.post("/api/v1/auth/login", json={"nik": nik, "pin": pin})
    assert login.status_code == 200, login.get_json()
    return {"Authorization": f"Bearer {login.get_json()['access_token']}"}


def logged_request_ids(registry_engine, nik: str) -> list[str | None]:
    with registry_engine.connect() as conn:
        return list(conn.scalars(sa.text(
            "SELECT request_id FROM audit_log WHERE subject_nik = :n AND action = 'read'"
            " ORDER BY id"), {"n": nik}))


def test_the_resident_sees_who_read_their_record(gw, accounts, registry_engine):
    me = gw.register(sex="P", name="Pemilik Catatan Baca")
    officer = accounts["officer_a"]
    assert gw.request("GET", f"/api/v1/residents/{me['nik']}", "officer_a",
                      headers={"X-Request-ID": "reads-gw-1"}).status_code == 200
    assert gw.request("GET", f"/api/v1/residents/{me['nik']}/history",
                      "head_a").status_code == 200
    search = gw.request("GET", f"/api/v1/villages/{VILLAGE_A}/residents?q=catatan baca",
                        "officer_a")
    assert [r["nik"] for r in search.get_json()["items"]] == [me["nik"]]
    assert gw.request("GET", f"/api/v1/residents/{me['nik']}", "admin").status_code == 200

    mine = resident_login(gw, me["nik"])
    assert gw.client.get(f"/api/v1/residents/{me['nik']}", headers=mine).status_code == 200
    response = gw.client.get(f"/api/v1/residents/{me['nik']}/reads", headers=mine)
    assert response.status_code == 200, response.get_json()
    page = response.get_json()
    assert page["total"] == 5 and page["page"] == 1 and page["per_page"] == 20
    assert [(i["role"], i["username"], i["purpose"]) for i in page["items"]] == [
        ("resident", None, "resident.read"),
        ("regency_admin", accounts["admin"], "resident.read"),
        ("officer", officer, "resident.search"),
        ("head", accounts["head_a"], "resident.history"),
        ("officer", officer, "resident.read")]
    assert logged_request_ids(registry_engine, me["nik"])[0] == "reads-gw-1"

    # Reading the log is not itself a read of the record.
    again = gw.client.get(f"/api/v1/residents/{me['nik']}/reads?per_page=2&page=3",
                          headers=mine).get_json()
    assert again["total"] == 5 and again["per_page"] == 2
    assert [i["purpose"] for i in again["items"]] == ["resident.read"]
    assert again["items"][0]["role"] == "officer"


@pytest.mark.parametrize("who", ["officer_a", "head_a", "admin"])
def test_staff_with_access_to_the_village_see_the_reads(gw, who):
    nik = gw.register()["nik"]
    gw.request("GET", f"/api/v1/residents/{nik}", "officer_a")
    response = gw.request("GET", f"/api/v1/residents/{nik}/reads", who)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["total"] >= 1


def test_others_may_not_see_the_reads(gw):
    nik = gw.register(name="Rahasia Pembaca")["nik"]
    gw.request("GET", f"/api/v1/residents/{nik}", "officer_a")
    path = f"/api/v1/residents/{nik}/reads"

    other_village = gw.request("GET", path, "officer_b")
    assert other_village.status_code in (403, 404)
    assert other_village.get_json()["error"]["code"] in ("forbidden", "not_found")
    assert gw.accounts["officer_a"] not in other_village.get_data(as_text=True)

    operator = gw.request("GET", path, "operator")
    assert operator.status_code == 403
    assert operator.get_json()["error"]["code"] == "forbidden"

    neighbour = gw.register()["nik"]
    theirs = gw.client.get(path, headers=resident_login(gw, neighbour))
    assert theirs.status_code == 403

    assert gw.client.get(path).status_code == 401


def test_bad_paging_is_a_validation_error(gw):
    nik = gw.register(who="officer_b", village=VILLAGE_B)["nik"]
    response = gw.request("GET", f"/api/v1/residents/{nik}/reads?per_page=0", "officer_b")
    assert response.status_code == 400
    assert "per_page" in str(response.get_json()["error"]["fields"])


def test_reads_route_is_in_the_openapi_document(gw):
    spec = gw.client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/residents/{nik}/reads"]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} >= {
        "page", "per_page"}
    assert "ResidentReadPage" in spec["components"]["schemas"]


def test_reading_a_family_card_counts_as_reading_each_member(gw, accounts):
    head, wife = gw.register(sex="L"), gw.register(sex="P")
    number = fake_family_number()
    assert gw.request("POST", f"/api/v1/villages/{VILLAGE_A}/families", "officer_a",
                      json={"number": number, "head_nik": head["nik"],
                            "members": [{"nik": wife["nik"], "relationship": 3}]}
                      ).status_code == 201
    assert gw.request("GET", f"/api/v1/families/{number}", "head_a").status_code == 200
    for member in (head, wife):
        items = gw.request("GET", f"/api/v1/residents/{member['nik']}/reads",
                           "officer_a").get_json()["items"]
        assert (items[0]["role"], items[0]["username"], items[0]["purpose"]) == \
            ("head", accounts["head_a"], "family.read")
