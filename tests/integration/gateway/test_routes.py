"""Every route's happy path through the gateway, against the real registry service."""
from __future__ import annotations

import csv
import io

from tests.integration.gateway.conftest import (
    VILLAGE_A,
    VILLAGE_B,
    count_rows,
    fake_family_number,
    fake_nik,
    follow_import,
    resident_data,
)


def test_villages_are_public_and_paginated(gw):
    response = gw.client.get("/api/v1/villages?district_code=36.04.05&per_page=5&page=2")
    assert response.status_code == 200
    page = response.get_json()
    assert set(page) == {"items", "total", "page", "per_page"}
    assert page["page"] == 2 and page["per_page"] == 5 and len(page["items"]) == 5
    assert page["total"] >= 10
    assert all(v["district_code"] == "36.04.05" for v in page["items"])
    everything = gw.client.get("/api/v1/villages").get_json()
    assert everything["total"] == 326 and everything["per_page"] == 50

    village = gw.client.get(f"/api/v1/villages/{VILLAGE_A}")
    assert village.status_code == 200
    assert village.get_json()["code"] == VILLAGE_A
    assert village.get_json()["name"] == "Bojonegara"
    missing = gw.client.get("/api/v1/villages/36.04.99.2999")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_village_settings_by_head_and_regency_admin_only(gw):
    path = f"/api/v1/villages/{VILLAGE_A}"
    by_head = gw.request("PATCH", path, "head_a", json={"head_name": "H. Contoh",
                                                          "internet_installed": True})
    assert by_head.status_code == 200, by_head.get_json()
    assert by_head.get_json()["head_name"] == "H. Contoh"
    assert gw.client.get(path).get_json()["internet_installed"] is True

    by_admin = gw.request("PATCH", f"/api/v1/villages/{VILLAGE_B}", "admin",
                          json={"website_url": "https://margasana.example.id"})
    assert by_admin.status_code == 200
    assert by_admin.get_json()["website_url"] == "https://margasana.example.id"

    assert gw.request("PATCH", f"/api/v1/villages/{VILLAGE_B}", "head_a",
                      json={"head_name": "X"}).status_code == 403
    assert gw.request("PATCH", path, "officer_a", json={"head_name": "X"}).status_code == 403
    assert gw.request("PATCH", path, None, json={"head_name": "X"}).status_code == 401
    assert gw.client.get(path).get_json()["head_name"] == "H. Contoh"


def test_register_read_search_and_update_a_resident(gw):
    data = resident_data(sex="P", name="Siti Gateway Contoh")
    created = gw.request("POST", f"/api/v1/villages/{VILLAGE_A}/residents", "officer_a",
                         json=data)
    assert created.status_code == 201, created.get_json()
    resident = created.get_json()
    for name in ("nik", "name", "sex", "birth_place", "birth_date", "religion",
                 "marital_status", "occupation", "education", "family_number",
                 "relationship", "address", "status", "village_code"):
        assert name in resident
    assert resident["nik"] == data["nik"] and resident["status"] == "alive"
    assert resident["village_code"] == VILLAGE_A
    assert resident["address"]["rt"] == "001"

    read = gw.request("GET", f"/api/v1/residents/{data['nik']}", "officer_a")
    assert read.status_code == 200 and read.get_json() == resident

    by_name = gw.request("GET", f"/api/v1/villages/{VILLAGE_A}/residents?q=gateway contoh",
                         "officer_a").get_json()
    assert data["nik"] in [r["nik"] for r in by_name["items"]]
    by_nik = gw.request("GET", f"/api/v1/villages/{VILLAGE_A}/residents?q={data['nik'][:12]}",
                        "officer_a").get_json()
    assert [r["nik"] for r in by_nik["items"]] == [data["nik"]]
    paged = gw.request("GET", f"/api/v1/villages/{VILLAGE_A}/residents?per_page=1&rt=1",
                       "head_a").get_json()
    assert paged["per_page"] == 1 and len(paged["items"]) == 1 and paged["total"] >= 1

    patched = gw.request("PATCH", f"/api/v1/residents/{data['nik']}", "officer_a",
                         json={"occupation": "Guru", "phone": "0812 3456 7890"})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["occupation"] == "Guru"
    history = gw.request("GET", f"/api/v1/residents/{data['nik']}/history", "officer_a")
    assert history.status_code == 200
    changes = [entry["changes"] for entry in history.get_json()]
    assert any(c.get("occupation") == ["Petani", "Guru"] for c in changes)


def test_a_resident_change_made_from_an_old_version_is_refused(gw):
    """Two officers change one record: the second change, made from the version both read, is
    412 and changes nothing (decision 0099); from the current version it goes through."""
    data = resident_data(sex="L", name="Budi Versi Contoh")
    assert gw.request("POST", f"/api/v1/villages/{VILLAGE_A}/residents", "officer_a",
                      json=data).status_code == 201
    path = f"/api/v1/residents/{data['nik']}"
    read = gw.request("GET", path, "officer_a")
    etag = read.headers["ETag"]
    assert etag == f'"{read.get_json()["updated_at"]}"'
    first = gw.request("PATCH", path, "head_a", json={"occupation": "Guru"},
                       headers={"If-Match": etag})
    assert first.status_code == 200, first.get_json()
    stale = gw.request("PATCH", path, "officer_a", json={"occupation": "Nelayan"},
                       headers={"If-Match": etag})
    assert stale.status_code == 412, stale.get_json()
    assert stale.get_json()["error"]["code"] == "precondition_failed"
    assert gw.request("GET", path, "officer_a").get_json()["occupation"] == "Guru"
    again = gw.request("PATCH", path, "officer_a", json={"occupation": "Nelayan"},
                       headers={"If-Match": first.headers["ETag"]})
    assert again.status_code == 200 and again.get_json()["occupation"] == "Nelayan"
    assert gw.request("PATCH", path, "officer_a",
                      json={"occupation": "Petani"}).status_code == 200  # no If-Match


def test_resident_without_nik_gets_a_temporary_number(gw):
    data = resident_data()
    data.pop("nik")
    created = gw.request("POST", f"/api/v1/villages/{VILLAGE_A}/residents", "officer_a",
                         json=data)
    assert created.status_code == 201
    assert created.get_json()["nik"].startswith("TMP-3604072001-")
    assert created.get_json()["has_nik"] is False


def test_death_changes_the_status_and_deletes_nothing(gw, registry_engine):
    resident = gw.register()
    before = count_rows(registry_engine, "residents")
    response = gw.request("POST", f"/api/v1/residents/{resident['nik']}/events", "officer_a",
                          json={"type": "death", "date": "2024-03-01", "place": "Rumah",
                                "cause": "Sakit", "reporter": "Keluarga"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["resident"]["status"] == "dead"
    assert gw.request("GET", f"/api/v1/residents/{resident['nik']}",
                      "officer_a").get_json()["status"] == "dead"
    assert count_rows(registry_engine, "residents") == before


def test_birth_registers_the_child(gw):
    mother = gw.register(sex="P")
    response = gw.request("POST", f"/api/v1/residents/{mother['nik']}/events", "officer_a",
                          json={"type": "birth", "date": "2024-05-02",
                                "child": {"name": "Bayi Contoh", "sex": "L",
                                          "birth_place": "Serang", "religion": "Islam"}})
    assert response.status_code == 201, response.get_json()
    child = response.get_json()["resident"]
    assert child["mother_nik"] == mother["nik"] and child["birth_date"] == "2024-05-02"
    assert gw.request("GET", f"/api/v1/residents/{child['nik']}",
                      "officer_a").status_code == 200


def test_register_and_read_a_family(gw):
    head = gw.register(sex="L")
    wife = gw.register(sex="P")
    number = fake_family_number()
    created = gw.request("POST", f"/api/v1/villages/{VILLAGE_A}/families", "officer_a",
                         json={"number": number, "head_nik": head["nik"],
                               "members": [{"nik": wife["nik"], "relationship": 3}]})
    assert created.status_code == 201, created.get_json()
    family = gw.request("GET", f"/api/v1/families/{number}", "officer_a")
    assert family.status_code == 200
    members = {m["nik"]: m["relationship"] for m in family.get_json()["members"]}
    assert members == {head["nik"]: 1, wife["nik"]: 3}
    assert gw.request("GET", f"/api/v1/residents/{wife['nik']}",
                      "officer_a").get_json()["family_number"] == number


def test_regency_admin_reads_any_village_operator_none(gw):
    resident = gw.register(who="officer_b", village=VILLAGE_B)
    assert gw.request("GET", f"/api/v1/residents/{resident['nik']}",
                      "admin").status_code == 200
    assert gw.request("GET", f"/api/v1/villages/{VILLAGE_B}/residents",
                      "admin").status_code == 200
    for method, path in (("GET", f"/api/v1/residents/{resident['nik']}"),
                         ("GET", f"/api/v1/villages/{VILLAGE_B}/residents"),
                         ("POST", f"/api/v1/residents/{resident['nik']}/pin")):
        assert gw.request(method, path, "operator").status_code == 403


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _csv_row(sex: str = "L", **overrides) -> dict:
    nik, born = fake_nik(sex)
    row = {"NIK": nik, "Nama": "Warga Impor", "Jenis Kelamin": sex, "Tempat Lahir": "Serang",
           "Tanggal Lahir": born, "Agama": "Islam", "Status Perkawinan": "Kawin",
           "No KK": "", "SHDK": "", "Dusun": "Dusun Dua", "RW": "3", "RT": "4"}
    row.update(overrides)
    return row


def test_csv_import_dry_run_then_real_import(gw, snapshot, registry_engine):
    number = fake_family_number()
    rows = [_csv_row("L", **{"No KK": number, "SHDK": "1"}),
            _csv_row("P", **{"No KK": number, "SHDK": "3"}), _csv_row("P")]
    text = _csv(rows)
    path = f"/api/v1/villages/{VILLAGE_A}/residents/import"
    before = snapshot()
    dry = gw.request("POST", f"{path}?dry_run=true", "officer_a",
                     data={"file": (io.BytesIO(text.encode()), "warga.csv")},
                     content_type="multipart/form-data")
    assert dry.status_code == 202, dry.get_json()
    assert dry.headers["Location"] == dry.get_json()["url"]
    job = follow_import(gw, dry.get_json()["url"])
    assert job["status"] == "succeeded", job
    assert job["report"]["dry_run"] is True and job["report"]["rows"] == 3
    assert job["report"]["errors"] == []
    assert snapshot() == before

    real = gw.request("POST", path, "officer_a", data=text.encode("utf-8-sig"),
                      content_type="text/csv")
    assert real.status_code == 202, real.get_json()
    job = follow_import(gw, real.get_json()["url"])
    assert job["status"] == "succeeded", job
    report = job["report"]
    assert report["imported"] == 3 and report["families"] == 1
    assert [row["line"] for row in report["results"]] == [2, 3, 4]
    assert job["progress"]["rows_done"] == job["progress"]["rows_total"] == 3
    assert count_rows(registry_engine, "residents") == before["residents"] + 3
    assert gw.request("GET", f"/api/v1/families/{number}", "officer_a").status_code == 200
