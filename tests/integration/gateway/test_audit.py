"""GET /api/v1/audit/{service} and /api/v1/audit/verify (decision 0032): the regency admin reads
who read or changed whose personal data, and finds a tampered row by service, village and
position; `desa audit verify` says the same."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cli.main import cli
from tests.integration.gateway.conftest import VILLAGE_A, Gateway

pytestmark = pytest.mark.integration


@pytest.fixture
def every_gw(running_services, app_factory, accounts) -> Gateway:
    return Gateway(app_factory().test_client(), accounts)


def sealed_entries(gw: Gateway, nik: str, count: int) -> list[dict]:
    """The registry's entries about `nik` once the sealer (a 1 s timer) chained them."""
    deadline = time.monotonic() + 15
    while True:
        page = gw.request("GET", f"/api/v1/audit/registry?nik={nik}", "admin").get_json()
        items = page["items"]
        if len(items) >= count and all(i["position"] for i in items) \
                or time.monotonic() > deadline:
            return items
        time.sleep(0.3)


def test_the_admin_sees_reads_and_changes_masked_and_sealed(every_gw):
    gw = every_gw
    me = gw.register(name="Tercatat Audit")
    assert gw.request("GET", f"/api/v1/residents/{me['nik']}", "officer_a").status_code == 200
    items = sealed_entries(gw, me["nik"], 2)
    assert [(i["action"], i["purpose"], i["actor_role"], i["actor_username"]) for i in items] == [
        ("read", "resident.read", "officer", gw.accounts["officer_a"]),
        ("change", "resident.registered", "officer", gw.accounts["officer_a"])]
    assert all(i["position"] for i in items), "rows are sealed within seconds"
    assert items[0]["subject_nik"] == me["nik"][:4] + "********" + me["nik"][-4:]
    assert items[0]["village_code"] == VILLAGE_A and items[0]["service"] == "registry"

    verified = gw.request("GET", "/api/v1/audit/verify", "admin")
    assert verified.status_code == 200
    assert [(v["service"], v["intact"]) for v in verified.get_json()] == [
        ("registry", True), ("letters", True), ("finance", True), ("potential", True)]


@pytest.mark.parametrize("who", ["officer_a", "head_a", "operator", None])
def test_only_the_regency_admin_reads_the_audit_log(every_gw, who):
    expected = 401 if who is None else 403
    assert every_gw.request("GET", "/api/v1/audit/registry", who).status_code == expected
    assert every_gw.request("GET", "/api/v1/audit/verify", who).status_code == expected


def test_unknown_services_and_bad_filters_are_refused(every_gw):
    assert every_gw.request("GET", "/api/v1/audit/payroll", "admin").status_code == 404
    bad = every_gw.request("GET", "/api/v1/audit/registry?action=delete&nik=1", "admin")
    assert bad.status_code == 400
    assert set(bad.get_json()["error"]["fields"]) == {"action", "nik"}


def test_a_tampered_row_is_named_by_the_gateway_and_by_desa_audit_verify(every_gw,
                                                                          registry_engine):
    gw = every_gw
    me = gw.register(name="Dirusak Audit")
    gw.request("GET", f"/api/v1/residents/{me['nik']}", "officer_a")
    position = sealed_entries(gw, me["nik"], 2)[0]["position"]

    def set_purpose(purpose: str) -> None:
        with registry_engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            conn.execute(sa.text("UPDATE audit_log SET purpose = :p WHERE village_code = :v "
                                 "AND seq = :s"), {"p": purpose, "v": VILLAGE_A, "s": position})
            conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")

    set_purpose("resident.search")  # hide that the record itself was read
    try:
        report = gw.request("GET", "/api/v1/audit/verify", "admin").get_json()
        registry = next(r for r in report if r["service"] == "registry")
        assert not registry["intact"]
        assert [(b["village_code"], b["position"], b["problem"]) for b in registry["breaks"]] \
            == [(VILLAGE_A, position, "altered")]
        result = CliRunner().invoke(cli, ["audit", "verify", "--service", "registry"])
        assert result.exit_code == 1
        assert f"registry village {VILLAGE_A} position {position}: altered" in result.output
    finally:
        set_purpose("resident.read")
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "BROKEN" not in result.output


def test_a_chain_rewritten_without_the_key_is_named_by_desa_audit_verify(every_gw,
                                                                        registry_engine):
    """Decision 0035: someone with the database owner's rights changes a row and recomputes
    every later hash with plain SHA-256 (all that decision 0032's chain asked for);
    `desa audit verify` names the first rewritten position and exits 1."""
    from services.common import audit
    from services.common.tables import audit_log

    gw = every_gw
    me = gw.register(name="Ditulis Ulang")
    gw.request("GET", f"/api/v1/residents/{me['nik']}", "officer_a")
    position = sealed_entries(gw, me["nik"], 2)[0]["position"]
    with registry_engine.connect() as conn:
        chain = [dict(r) for r in conn.execute(
            sa.select(audit_log).where(audit_log.c.village_code == VILLAGE_A,
                                       audit_log.c.seq >= position - 1)
            .order_by(audit_log.c.seq)).mappings()]
    assert all(r["key_id"] for r in chain), "the suite seals with a key (DESA_AUDIT_KEYS)"

    def write(rows: list[dict]) -> None:
        with registry_engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            for row in rows:
                conn.execute(sa.update(audit_log).where(audit_log.c.id == row["id"]).values(
                    purpose=row["purpose"], hash=row["hash"], key_id=row["key_id"]))
            conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")

    previous, forged = chain[0]["hash"], []
    for row in chain[1:]:
        fake = {**row, "key_id": None,
                "purpose": "resident.search" if row["seq"] == position else row["purpose"]}
        previous = fake["hash"] = audit.chain_hash(previous, "registry", fake)
        forged.append(fake)
    write(forged)
    try:
        result = CliRunner().invoke(cli, ["audit", "verify", "--service", "registry",
                                          "--no-seal"])
        assert result.exit_code == 1, result.output
        assert f"registry village {VILLAGE_A} position {position}: unkeyed" in result.output
    finally:
        write(chain[1:])
    result = CliRunner().invoke(cli, ["audit", "verify", "--service", "registry"])
    assert result.exit_code == 0, result.output
