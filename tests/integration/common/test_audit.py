"""The audit log (decision 0032): one INSERT per access, chained per village by the sealer,
append-only by trigger; an altered, deleted or reordered row is found at its position."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services.common import audit
from services.common.tables import audit_log

pytestmark = pytest.mark.integration

SERVICE = "kernel"
CIKANDE, BINONG = "36.04.15.2001", "36.04.15.2002"
OFFICER = {"role": "officer", "username": "audit.officer", "nik": None}


def fake_nik(n: int) -> str:
    return f"990101010190{n:04d}"  # 99 is no province: never a real NIK


def log_accesses(engine, village: str, count: int, start: int = 0) -> None:
    with Session(engine) as session:
        for n in range(start, start + count):
            audit.record(session, [(fake_nik(n), village)], actor=OFFICER, action=audit.READ,
                         purpose="resident.read", request_id=f"req-{n}")
        session.commit()


def sealed(engine) -> int:
    with Session(engine) as session:
        return audit.seal(session, SERVICE)


def verify(engine) -> dict:
    with Session(engine) as session:
        return audit.verify(session, SERVICE)


def tamper(engine, sql: str, **params) -> None:
    """What someone with the database's owner account could do behind the trigger's back."""
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        conn.execute(sa.text(sql), params)
        conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def id_at(engine, village: str, position: int) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(audit_log.c.id).where(audit_log.c.village_code == village,
                                                           audit_log.c.seq == position))


@pytest.fixture
def audited(kernel_db):
    """Five accesses in Cikande and three in Binong, interleaved, then sealed."""
    with kernel_db.begin() as conn:
        audit.install_guard(conn)
    log_accesses(kernel_db, CIKANDE, 3)
    log_accesses(kernel_db, BINONG, 3, start=10)
    log_accesses(kernel_db, CIKANDE, 2, start=3)
    assert sealed(kernel_db) == 8
    return kernel_db


def test_each_village_gets_its_own_unbroken_chain(audited):
    report = verify(audited)
    assert report == {"service": SERVICE, "chains": 2, "rows": 8, "unsealed": 0, "intact": True,
                      "breaks": []}
    with audited.connect() as conn:
        positions = conn.execute(sa.select(audit_log.c.village_code, audit_log.c.seq,
                                           audit_log.c.subject_nik)
                                 .order_by(audit_log.c.id)).all()
    assert [(v, s) for v, s, _ in positions if v == CIKANDE] == [(CIKANDE, n) for n in range(1, 6)]
    assert [s for v, s, _ in positions if v == BINONG] == [1, 2, 3]


def test_later_rows_extend_the_chain_and_wait_unsealed_until_the_sealer_runs(audited):
    log_accesses(audited, CIKANDE, 2, start=20)
    assert verify(audited)["unsealed"] == 2
    assert sealed(audited) == 2
    report = verify(audited)
    assert report["intact"] and report["rows"] == 10 and report["unsealed"] == 0
    assert id_at(audited, CIKANDE, 7) is not None


def test_the_log_refuses_updates_deletes_truncation_and_a_second_seal(audited):
    row = id_at(audited, CIKANDE, 2)
    for sql in ("UPDATE audit_log SET purpose = 'resident.search' WHERE id = :id",
                "UPDATE audit_log SET seq = 99, hash = repeat('0', 64) WHERE id = :id",
                "DELETE FROM audit_log WHERE id = :id",
                "TRUNCATE audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), audited.begin() as conn:
            conn.execute(sa.text(sql), {"id": row})
    assert verify(audited)["intact"]


def test_an_unsealed_row_may_only_be_sealed_not_changed(audited):
    log_accesses(audited, CIKANDE, 1, start=30)
    with pytest.raises(DBAPIError, match="append-only"), audited.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET subject_nik = :n, seq = 6, hash = 'x' "
                             "WHERE seq IS NULL"), {"n": fake_nik(31)})


def test_an_altered_row_breaks_its_chain_at_its_position(audited):
    tamper(audited, "UPDATE audit_log SET actor_username = 'someone.else' WHERE id = :id",
           id=id_at(audited, CIKANDE, 3))
    report = verify(audited)
    assert not report["intact"]
    assert [(b["village_code"], b["position"], b["problem"]) for b in report["breaks"]] == [
        (CIKANDE, 3, "altered")]


def test_a_deleted_row_leaves_a_hole_at_its_position(audited):
    tamper(audited, "DELETE FROM audit_log WHERE id = :id", id=id_at(audited, BINONG, 2))
    assert [(b["village_code"], b["position"], b["problem"])
            for b in verify(audited)["breaks"]] == [(BINONG, 2, "missing")]


def test_reordered_rows_break_the_chain_where_the_order_changed(audited):
    second, fourth = id_at(audited, CIKANDE, 2), id_at(audited, CIKANDE, 4)
    tamper(audited, "UPDATE audit_log SET seq = -1 WHERE id = :id", id=second)
    tamper(audited, "UPDATE audit_log SET seq = 2 WHERE id = :id", id=fourth)
    tamper(audited, "UPDATE audit_log SET seq = 4 WHERE id = :id", id=second)
    assert [(b["village_code"], b["position"], b["problem"])
            for b in verify(audited)["breaks"]] == [(CIKANDE, 2, "altered")]


def test_a_rehashed_row_still_breaks_the_next_position(audited):
    """Rewriting a row and its own hash is not enough: the next row was chained to the old one."""
    target = id_at(audited, CIKANDE, 2)
    with audited.connect() as conn:
        row = dict(conn.execute(sa.select(audit_log).where(audit_log.c.id == target))
                   .mappings().one())
        previous = conn.scalar(sa.select(audit_log.c.hash).where(
            audit_log.c.village_code == CIKANDE, audit_log.c.seq == 1))
    forged = {**row, "purpose": "resident.search"}
    tamper(audited, "UPDATE audit_log SET purpose = 'resident.search', hash = :h WHERE id = :id",
           h=audit.chain_hash(previous, SERVICE, forged), id=target)
    assert [(b["position"], b["problem"]) for b in verify(audited)["breaks"]] == [(3, "altered")]


def test_a_row_is_bound_to_its_service(audited):
    with Session(audited) as session:
        assert not audit.verify(session, "registry")["intact"]


def test_entries_mask_numbers_and_filter(audited):
    with Session(audited) as session:
        page = audit.entries(session, SERVICE, village_code=BINONG, per_page=2)
        only = audit.entries(session, SERVICE, nik=fake_nik(4))
    assert page["total"] == 3 and len(page["items"]) == 2
    assert page["items"][0]["subject_nik"] == "9901********0012"
    assert page["items"][0]["position"] == 3 and page["items"][0]["actor_role"] == "officer"
    assert [(i["village_code"], i["position"]) for i in only["items"]] == [(CIKANDE, 5)]
