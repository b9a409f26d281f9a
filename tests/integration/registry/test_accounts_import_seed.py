"""Accounts and PIN login, CSV import, seeds, and errors crossing the real RPC wire."""
from __future__ import annotations

import time
from datetime import date

import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.errors import (
    Conflict,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
    ValidationFailed,
)
from services.registry import seed
from tests.integration.registry.support import OFFICER, fake_nik, in_unit_of_work, person

pytestmark = pytest.mark.integration

VILLAGE = "36.04.06.2001"


def test_staff_accounts(registry, rows):
    account = registry.create_account("officer", "officer.waringin", "correct-horse-1",
                                      VILLAGE, None)
    assert account["role"] == "officer" and account["village_code"] == VILLAGE
    assert set(account) == {"id", "role", "username", "village_code", "district_code"}
    stored = rows.count("accounts", "username = 'officer.waringin' AND password_hash LIKE "
                                    "'$argon2id$%'")
    assert stored == 1

    principal = registry.authenticate_password("officer.waringin", "correct-horse-1")
    assert principal == {"subject": f"account:{account['id']}", "role": "officer",
                         "username": "officer.waringin", "village_code": VILLAGE,
                         "district_code": None}
    for username, password in (("officer.waringin", "wrong-horse-1"), ("nobody", "x")):
        with pytest.raises(Unauthenticated):
            registry.authenticate_password(username, password)

    with pytest.raises(Conflict):
        registry.create_account("head", "officer.waringin", "another-pass-1", VILLAGE, None)
    with pytest.raises(ValidationFailed) as caught:
        registry.create_account("officer", "no.village", "long-enough-1", None, None)
    assert "village_code" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        registry.create_account("officer", "bad.village", "long-enough-1", "36.04.99.2999", None)
    assert "village_code" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        registry.create_account("mayor", "x.mayor", "long-enough-1", None, None)
    assert "role" in caught.value.fields
    admin = registry.create_account("regency_admin", "admin.test", "long-enough-1", None,
                                    OFFICER)
    assert admin["village_code"] is None


def test_district_admin_accounts_name_one_district(registry):
    """The camat's account is bound to a district of the regency, never to a village."""
    camat = registry.create_account("district_admin", "camat.kragilan", "long-enough-1", None,
                                    OFFICER, "36.04.06")
    assert (camat["district_code"], camat["village_code"]) == ("36.04.06", None)
    principal = registry.authenticate_password("camat.kragilan", "long-enough-1")
    assert principal["role"] == "district_admin" and principal["district_code"] == "36.04.06"
    refused = {("camat.none", None, None): "district_code",
               ("camat.far", None, "36.04.99"): "district_code",
               ("camat.village", VILLAGE, "36.04.06"): "village_code"}
    for (username, village, district), field in refused.items():
        with pytest.raises(ValidationFailed) as caught:
            registry.create_account("district_admin", username, "long-enough-1", village,
                                    OFFICER, district)
        assert field in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:  # village staff name no district
        registry.create_account("officer", "officer.district", "long-enough-1", VILLAGE,
                                OFFICER, "36.04.06")
    assert "district_code" in caught.value.fields


def test_pin_login_and_lock(registry, db, production_lockout):
    nik = registry.register_resident(VILLAGE, person(name="Pin Contoh"), OFFICER)["nik"]
    with pytest.raises(Unauthenticated):  # no PIN issued yet
        registry.authenticate_pin(nik, "000000")
    pin = registry.issue_pin(nik, VILLAGE, OFFICER)["pin"]
    assert len(pin) == 6 and pin.isdigit()
    stored = db.execute(sa.text("SELECT pin_hash FROM resident_credentials c JOIN residents r "
                                "ON r.id = c.resident_id WHERE r.nik = :n"), {"n": nik}).scalar()
    assert stored.startswith("$argon2id$") and pin not in stored

    principal = registry.authenticate_pin(nik, pin)
    assert principal == {"subject": f"resident:{nik}", "role": "resident", "nik": nik,
                         "name": "Pin Contoh", "village_code": VILLAGE}
    wrong = f"{(int(pin) + 1) % 1_000_000:06d}"

    # Success resets the counter: 4 failures, a success, 4 more failures, still open.
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            registry.authenticate_pin(nik, wrong)
    registry.authenticate_pin(nik, pin)
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            registry.authenticate_pin(nik, wrong)
    with pytest.raises(Unauthenticated, match="locked"):  # the fifth failure locks
        registry.authenticate_pin(nik, wrong)
    with pytest.raises(TooManyAttempts):  # even the right PIN, while locked
        registry.authenticate_pin(nik, pin)

    # The lock is server-side state: once it has passed, the right PIN works again.
    db.execute(sa.text("UPDATE login_failures SET locked_until = now() - interval '1 s' "
                       "WHERE kind = 'nik'"))
    db.commit()
    assert registry.authenticate_pin(nik, pin)["nik"] == nik

    # A newly issued PIN replaces the old one and clears any lock.
    new_pin = registry.issue_pin(nik, VILLAGE, OFFICER)["pin"]
    if new_pin != pin:
        with pytest.raises(Unauthenticated):
            registry.authenticate_pin(nik, pin)
    assert registry.authenticate_pin(nik, new_pin)["role"] == "resident"

    registry.record_life_event(nik, {"type": "move_out", "date": "2026-01-01",
                                     "destination": "Jakarta"}, VILLAGE, OFFICER)
    with pytest.raises(Unauthenticated):  # only residents living here log in
        registry.authenticate_pin(nik, new_pin)


HEADER = "NIK;Nama;JK;Tempat Lahir;Tgl Lahir;Agama;Status Kawin;No KK;SHDK;Dusun;RW;RT"


def import_file(family_number: str) -> tuple[str, list[str]]:
    niks = [fake_nik(date(1975, 5, 1), "L"), fake_nik(date(1978, 6, 2), "P"),
            fake_nik(date(2005, 7, 3), "P")]
    lines = [
        HEADER,
        f"{niks[0]};Bapak Impor Contoh;L;Serang;01-05-1975;Islam;Kawin;{family_number};1;"
        "Dusun Impor;1;1",
        f"{niks[1]};Ibu Impor Contoh;Perempuan;Serang;02/06/1978;islam;kawin;{family_number};"
        "Istri;Dusun Impor;1;1",
        f"{niks[2]};Anak Impor Contoh;P;Serang;2005-07-03;Islam;Belum Kawin;{family_number};"
        "4;Dusun Impor;1;1",
        ";Bayi Impor Contoh;L;Serang;2025-12-01;Islam;Belum Kawin;;;Dusun Impor;1;2",
    ]
    return "\n".join(lines) + "\n", niks


def test_csv_import_all_or_nothing(registry, rows):
    village = "36.04.06.2002"
    text, niks = import_file("3604061503159001")
    broken = text + f"{niks[0]};Kembar Contoh;L;Serang;01-05-1975;Islam;Kawin;;;;;\n" \
                    f"{fake_nik(date(1990, 1, 1), 'L')};Salah Contoh;P;Serang;01-01-1990;" \
                    "Islam;Kawin;;;;;\n"
    before = rows.snapshot()

    report = run_import(registry, village, broken, True)["report"]
    assert report["dry_run"] is True and report["rows"] == 6
    assert report["imported"] == 0 and report["families"] == 0
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(6, "nik"), (7, "sex")]
    failed = run_import(registry, village, broken, False)
    assert failed["status"] == "failed" and failed["report"] is None
    assert failed["error"]["code"] == "unprocessable"
    assert failed["error"]["fields"]["rows"] == report["errors"]
    assert rows.snapshot() == before

    preview = run_import(registry, village, text, True)["report"]
    assert preview == {"dry_run": True, "rows": 4, "imported": 4, "families": 1, "errors": []}
    assert rows.snapshot() == before

    job = run_import(registry, village, text, False)
    done = job["report"]
    assert job["status"] == "succeeded" and job["progress"]["rows_done"] == 4
    assert {k: done[k] for k in ("dry_run", "rows", "imported", "families", "errors")} == {
        "dry_run": False, "rows": 4, "imported": 4, "families": 1, "errors": []}
    assert done["results"][:3] == [{"line": 2, "nik": niks[0]}, {"line": 3, "nik": niks[1]},
                                   {"line": 4, "nik": niks[2]}]
    assert done["results"][3]["nik"].startswith("TMP-")
    family = registry.get_family("3604061503159001", village)
    assert family["head_nik"] == niks[0]
    assert [m["relationship"] for m in family["members"]] == [1, 3, 4]
    assert family["address"]["dusun"] == "Dusun Impor"
    baby = registry.search_residents(village, q="Bayi Impor")["items"][0]
    assert baby["nik"].startswith("TMP-3604062002-") and baby["address"]["rt"] == "002"
    assert rows.events(niks[1])[0]["type"] == "resident.registered"
    assert rows.events(niks[1])[0]["payload"]["family_number"] == "3604061503159001"
    assert [e["type"] for e in rows.events("3604061503159001")] == ["family.updated"]

    again = run_import(registry, village, text, True)["report"]
    assert {e["field"] for e in again["errors"]} == {"nik", "family_number"}
    # Jobs belong to their village; the CSV is not kept once the job has run.
    with pytest.raises(NotFound):
        registry.get_import(job["id"], "36.04.06.2001")
    assert rows.count("import_jobs", "csv_text IS NOT NULL") == 0


def test_an_imported_record_reads_as_its_event_and_is_captured_for_the_backup(registry, rows):
    """The set-based import writes rows, not objects: what the register reads back afterwards
    is what the events said, the family card is its members', and every row reached the
    backup capture."""
    village = "36.04.06.2003"
    text, niks = import_file("3604061503159002")
    captured = rows.count("backup_changes", "tbl = 'residents'")
    job = run_import(registry, village, text, False)
    assert job["status"] == "succeeded", job
    for nik in niks:
        [event] = rows.events(nik)
        assert registry.get_resident(nik, village) == event["payload"]
        [line] = registry.resident_history(nik, village)
        assert line["reason"] == "imported" and line["changes"]["nik"] == [None, nik]
    [card] = rows.events("3604061503159002")
    assert registry.get_family("3604061503159002", village) == card["payload"]
    assert [m["nik"] for m in card["payload"]["members"]] == niks
    assert rows.count("backup_changes", "tbl = 'residents'") - captured == 4
    assert rows.count("backup_changes", "tbl = 'family_memberships'") >= 3


def run_import(registry, village: str, text: str, dry_run: bool, timeout: float = 60) -> dict:
    """Start an import job and wait for its end (the container's timer runs it)."""
    job = registry.start_import(village, text, dry_run, OFFICER)
    assert job["status"] == "queued" and "csv_text" not in job
    deadline = time.monotonic() + timeout
    while job["status"] not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = registry.get_import(job["id"], village)
    return job


def test_seed_villages_idempotent(db, rows):
    outbox_before = rows.count("outbox")
    assert in_unit_of_work(db, seed.seed_villages) == 0
    assert rows.count("outbox") == outbox_before
    assert rows.count("villages") == 326
    assert rows.count("(SELECT DISTINCT district_code FROM villages) d") == 29
    assert rows.count("villages", "kind = 'desa' AND regency_code = '36.04'") == 326

    db.execute(sa.text("UPDATE villages SET name = 'Salah' WHERE code = '36.04.05.2003'"))
    db.commit()
    assert in_unit_of_work(db, seed.seed_villages) == 1
    assert rows.events("36.04.05.2003")[-1]["payload"]["name"] == "Pejaten"


def test_villages_listing_and_settings(registry, rows):
    listing = registry.list_villages(None, 1, 50)
    assert listing["total"] == 326 and len(listing["items"]) == 50
    assert listing["items"][0]["code"] == "36.04.05.2001"
    kramatwatu = registry.list_villages("36.04.05", 1, 100)
    assert kramatwatu["total"] == len(kramatwatu["items"]) > 0
    assert {v["district_name"] for v in kramatwatu["items"]} == {"Kramatwatu"}

    code = "36.04.06.2003"
    village = registry.get_village(code)
    assert village["short_code"] == "2003" and village["head_title"] == "Kepala Desa"
    assert village["letter_number_scope"] == "per_type" and village["paper_size"] == "A4"
    assert village["letter_number_format"] == "{code}/{seq:03d}/{short_code}/{month_roman}/{year}"
    assert village["internet_installed"] is False and village["website_url"] is None

    updated = registry.update_village(code, {"head_name": "Kades Contoh",
                                             "internet_installed": True,
                                             "digital_services_since": "2025-01-01",
                                             "website_url": "https://contoh.desa.example"},
                                      OFFICER)
    assert updated["head_name"] == "Kades Contoh" and updated["internet_installed"] is True
    assert updated["digital_services_since"] == "2025-01-01"
    assert rows.events(code)[-1]["payload"] == updated
    before = rows.snapshot()
    with pytest.raises(ValidationFailed) as caught:
        registry.update_village(code, {"paper_size": "Letter", "name": "Baru"}, OFFICER)
    assert {"paper_size", "name"} <= set(caught.value.fields)
    with pytest.raises(NotFound):
        registry.get_village("36.04.99.2999")
    assert rows.snapshot() == before


CREDENTIALS = {"officer": "officer-demo-pass", "head": "head-demo-pass-1",
               "regency_admin": "regency-demo-pass", "operator": "operator-demo-pass",
               "resident_pin": "246810"}


def test_seed_demo_is_idempotent(registry, db, rows):
    first = in_unit_of_work(db, seed.seed_demo, CREDENTIALS)
    assert 35 <= first["residents"] <= 45 and first["families"] == 10
    assert first["accounts"] == ["demo.officer", "demo.head", "regency.admin",
                                 "platform.operator"]
    snapshot = rows.snapshot()
    village_events = len(rows.events(seed.DEMO_VILLAGE))
    second = in_unit_of_work(db, seed.seed_demo, {**CREDENTIALS, "officer": "changed-pass-1"})
    assert second == first
    assert rows.snapshot() == snapshot and len(rows.events(seed.DEMO_VILLAGE)) == village_events

    assert registry.search_residents(seed.DEMO_VILLAGE, per_page=100)["total"] == \
        first["residents"]
    # Fake numbers (9xxx serials) of known districts: most first issued in the village's own.
    demo = registry.search_residents(seed.DEMO_VILLAGE, per_page=100)["items"]
    assert all(r["nik"][12] == "9" and r["warnings"] == [] for r in demo)
    assert sum(r["nik"].startswith("360405") for r in demo) > len(demo) * 0.8
    village = registry.get_village(seed.DEMO_VILLAGE)
    assert village["head_name"] and village["office_address"] and village["internet_installed"]
    # Existing accounts keep their password; the resident PIN is the one asked for.
    assert registry.authenticate_password("demo.officer", "officer-demo-pass")["role"] == \
        "officer"
    assert registry.authenticate_password("platform.operator", "operator-demo-pass")[
        "village_code"] is None
    assert registry.authenticate_pin(first["resident_nik"], "246810")["role"] == "resident"


def test_errors_cross_the_rpc_wire(registry, nameko_config):
    with ClusterRpcProxy(nameko_config, timeout=10) as services:
        assert services.registry.ping() == {"service": "registry", "database": "ok"}
        with pytest.raises(ValidationFailed) as caught:
            services.registry.register_resident(VILLAGE, {**person(), "sex": "P"}, OFFICER)
        assert "sex" in caught.value.fields and caught.value.http_status == 400
        with pytest.raises(NotFound):
            services.registry.get_resident(fake_nik(date(1990, 1, 1), "L"), VILLAGE)
        created = services.registry.register_resident(VILLAGE, person(), OFFICER)
        assert services.registry.get_resident(created["nik"], VILLAGE) == created
