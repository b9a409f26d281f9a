"""The audit log (decisions 0032, 0035): one INSERT per access, chained per village by the
sealer with an HMAC key from configuration, append-only by trigger; an altered, deleted or
reordered row is found at its position, and so is a chain rewritten without the key."""
from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services.common import audit
from services.common.config import reset_settings
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
    assert report == {"service": SERVICE, "chains": 2, "rows": 8, "keyed_rows": 8,
                      "unkeyed_chains": 0, "unsealed": 0, "intact": True, "breaks": []}
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


# -- keyed chains (decision 0035) ---------------------------------------------------------------

KEY_A, KEY_B = audit.new_key_entry("2026a"), audit.new_key_entry("2027b")


@pytest.fixture
def guarded(kernel_db):
    """The log with its append-only trigger (which lets the sealer set key_id once)."""
    with kernel_db.begin() as conn:
        audit.install_guard(conn)
    return kernel_db


@pytest.fixture
def use_keys(monkeypatch):
    """Run with DESA_AUDIT_KEYS set to `text` ("" for none), as a service configured so."""

    def use(text: str) -> audit.Keyring:
        monkeypatch.setenv("DESA_AUDIT_KEYS", text)
        reset_settings()
        audit._anchored.clear()  # each test's database is new under the same URL
        return audit.keyring()

    yield use
    monkeypatch.undo()
    reset_settings()


def rows_of(engine, village: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(audit_log).where(audit_log.c.village_code == village)
            .order_by(audit_log.c.seq)).mappings()]


def replain(engine, village: str, start: int) -> None:
    """The attack a keyed chain stops: someone with the database owner's rights (no key)
    rewrites the chain from `start` on with plain SHA-256 hashes, every link consistent."""
    chain = rows_of(engine, village)
    previous = audit.GENESIS if start == 1 else chain[start - 2]["hash"]
    for row in chain[start - 1:]:
        plain = {**row, "key_id": None}
        if row["seq"] == start:
            plain["purpose"] = "resident.search"  # hide that a record itself was read
        previous = audit.chain_hash(previous, SERVICE, plain)
        tamper(engine, "UPDATE audit_log SET purpose = :p, key_id = NULL, hash = :h "
               "WHERE id = :id", p=plain["purpose"], h=previous, id=row["id"])


def test_rows_are_sealed_with_the_current_key_and_its_id(guarded, use_keys):
    use_keys(f"{KEY_A},{KEY_B}")
    log_accesses(guarded, CIKANDE, 2)
    assert sealed(guarded) == 2
    chain = rows_of(guarded, CIKANDE)
    assert [r["key_id"] for r in chain] == ["2026a", "2026a"]
    # the hash is the HMAC with that key; plain SHA-256 of the same bytes is not it
    assert chain[1]["hash"] == audit.chain_hash(chain[0]["hash"], SERVICE, chain[1])
    assert chain[1]["hash"] != audit.chain_hash(chain[0]["hash"], SERVICE,
                                                {**chain[1], "key_id": None})
    assert verify(guarded)["intact"]


@pytest.mark.parametrize("start", [1, 3])
def test_a_chain_rewritten_with_plain_hashes_is_caught(guarded, use_keys, start):
    """Rewriting a row and recomputing every later hash (plain SHA-256, as anyone can) verified
    before keys; now the first rewritten position is named, also when the whole chain is."""
    use_keys(KEY_A)
    log_accesses(guarded, CIKANDE, 5)
    sealed(guarded)
    replain(guarded, CIKANDE, start)
    report = verify(guarded)
    assert [(b["village_code"], b["position"], b["problem"]) for b in report["breaks"]] == [
        (CIKANDE, start, "unkeyed")]


def test_a_rewrite_that_keeps_the_key_ids_cannot_make_the_hashes(guarded, use_keys):
    """Keeping each row's key id and recomputing the links without the key (SHA-256 over the
    same bytes, or HMAC with a guessed key) breaks at the first rewritten row."""
    use_keys(KEY_A)
    log_accesses(guarded, CIKANDE, 4)
    sealed(guarded)
    chain = rows_of(guarded, CIKANDE)
    previous = chain[0]["hash"]
    for row in chain[1:]:
        forged = {**row, "purpose": "resident.search"} if row["seq"] == 2 else row
        previous = hashlib.sha256(previous.encode()
                                  + audit.canonical(SERVICE, forged)).hexdigest()
        tamper(guarded, "UPDATE audit_log SET purpose = :p, hash = :h WHERE id = :id",
               p=forged["purpose"], h=previous, id=row["id"])
    assert [(b["position"], b["problem"]) for b in verify(guarded)["breaks"]] == [
        (2, "altered")]


def test_plain_rows_of_before_keys_still_verify_and_are_anchored(guarded, use_keys):
    use_keys("")  # sealed as before decision 0035
    log_accesses(guarded, CIKANDE, 3)
    log_accesses(guarded, BINONG, 2, start=10)
    sealed(guarded)
    assert verify(guarded)["intact"] and verify(guarded)["keyed_rows"] == 0

    use_keys(KEY_A)  # the upgrade: a key configured; the sealer anchors both plain chains
    assert sealed(guarded) == 2
    log_accesses(guarded, CIKANDE, 1, start=3)
    assert sealed(guarded) == 1
    report = verify(guarded)
    assert report["intact"] and report["unkeyed_chains"] == 0, report
    cikande, binong = rows_of(guarded, CIKANDE), rows_of(guarded, BINONG)
    assert [(r["action"], r["key_id"]) for r in cikande] == [
        ("read", None)] * 3 + [("anchor", "2026a"), ("read", "2026a")]
    assert [(r["action"], r["key_id"]) for r in binong] == [("read", None)] * 2 + [
        ("anchor", "2026a")]
    # an old plain row changed, its plain successors recomputed: the keyed anchor breaks
    replain_upto = cikande[:3]
    previous = audit.GENESIS
    for row in replain_upto:
        forged = {**row, "actor_username": "someone.else"} if row["seq"] == 2 else row
        previous = audit.chain_hash(previous, SERVICE, forged)
        tamper(guarded, "UPDATE audit_log SET actor_username = :u, hash = :h WHERE id = :id",
               u=forged["actor_username"], h=previous, id=row["id"])
    assert [(b["village_code"], b["position"], b["problem"])
            for b in verify(guarded)["breaks"]] == [(CIKANDE, 4, "altered")]


def test_keys_rotate_and_a_missing_key_is_named(guarded, use_keys):
    use_keys(KEY_A)
    log_accesses(guarded, CIKANDE, 2)
    sealed(guarded)
    use_keys(f"{KEY_B},{KEY_A}")  # a new key first, the old one kept for verifying
    log_accesses(guarded, CIKANDE, 2, start=2)
    sealed(guarded)
    assert [r["key_id"] for r in rows_of(guarded, CIKANDE)] == ["2026a"] * 2 + ["2027b"] * 2
    assert verify(guarded)["intact"]
    use_keys(KEY_B)  # the old key dropped too early
    assert [(b["position"], b["problem"]) for b in verify(guarded)["breaks"]] == [
        (1, "unknown_key")]


def test_without_the_key_a_plain_rewrite_would_pass(guarded, use_keys):
    """What the key buys: with no keys configured, the same rewrite of a plain chain verifies
    (decision 0032's limit), so the test above fails if the HMAC is dropped."""
    use_keys("")
    log_accesses(guarded, CIKANDE, 5)
    sealed(guarded)
    replain(guarded, CIKANDE, 3)
    assert verify(guarded)["intact"]


@pytest.mark.parametrize("text", ["nokey", "a:not base64!", "a:" + "QUJD", "x" * 17 + ":" +
                                  KEY_A.split(":")[1], f"{KEY_A},{KEY_A}"])
def test_a_malformed_keyring_is_refused(text):
    with pytest.raises(audit.AuditKeyError):
        audit.Keyring.parse(text)


def test_chain_heads_come_from_an_index_skip_scan_that_misses_no_chain(guarded, use_keys):
    """`CHAIN_HEADS` (one index probe per village) finds every chain's newest sealed row's key,
    the chain of rows without a village included, exactly as a DISTINCT ON over every row."""
    everything = sa.text("SELECT DISTINCT ON (village_code) village_code, key_id FROM audit_log "
                         "WHERE seq IS NOT NULL ORDER BY village_code, seq DESC")

    def heads() -> tuple[list, list]:
        with Session(guarded) as session:
            return (sorted(map(tuple, session.execute(audit.CHAIN_HEADS)), key=str),
                    sorted(map(tuple, session.execute(everything)), key=str))

    use_keys("")
    log_accesses(guarded, CIKANDE, 3)
    log_accesses(guarded, BINONG, 2, start=10)
    log_accesses(guarded, None, 2, start=20)
    assert heads() == ([], [])
    sealed(guarded)
    found, expected = heads()
    assert found == expected == sorted([(CIKANDE, None), (BINONG, None), (None, None)], key=str)
    use_keys(KEY_A)
    assert sealed(guarded) == 3  # each plain chain anchored, the village-less one too
    log_accesses(guarded, "36.04.15.2003", 1, start=30)
    sealed(guarded)
    found, expected = heads()
    assert found == expected and len(found) == 4
    assert {key_id for _, key_id in found} == {"2026a"}
