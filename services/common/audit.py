"""The audit log: who read or changed whose personal data, hash-chained per village (decision 0032).

Every service has the kernel's `audit_log` table. A request that reads or changes personal data
appends its rows with `record` in its own transaction: one INSERT, nothing else on the request
path. The sealer (`seal`, a timer of every service) later walks unsealed rows in id order and
gives each the next position (`seq`) of its village's chain and
`hash = HMAC-SHA-256(key, previous hash || canonical row)` with the current key of
DESA_AUDIT_KEYS, whose id it stores in `key_id` (decision 0035): without the key, nobody who
can write the database can make a changed row or chain verify again. Rows sealed before keys
(`key_id` NULL, `hash = SHA-256(previous hash || canonical row)`) still verify; a plain row
after a keyed one in the same chain is a break. A trigger keeps the table append-only: no
DELETE, and an UPDATE only to set `seq`, `hash` and `key_id` once (a restore, with
`desa.backup_restore` on, may do both). `verify` walks every chain and names the first
position that breaks.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from services.common import clock, roles
from services.common.config import get_settings
from services.common.errors import ValidationFailed
from services.common.fields import load, person_number
from services.common.fields import village_code as village_code_rule
from services.common.logs import mask_personal_numbers
from services.common.pagination import PageArgs, page_schema
from services.common.tables import audit_log

READ = "read"
CHANGE = "change"
ACTIONS = (READ, CHANGE)
# The row a keyed sealer appends to a chain whose newest row has a plain hash (decision 0035):
# from then on every chain ends in a keyed row, so one rewritten wholly in plain SHA-256 shows.
ANCHOR = "anchor"
ANCHOR_PURPOSE = "audit.keyed"
ANCHOR_SUBJECT = "-"
GENESIS = "0" * 64
REQUEST_ID_MAX = 128
# Rows one sealer transaction chains; a timer call seals until less than this is left.
SEAL_BATCH = 1000
SEAL_BATCHES_PER_CALL = 20
_SEAL_LOCK = "desa.audit.seal"

# Append-only, with the one change the sealer makes; the restore of a village replaces rows.
GUARD_SQL = (
    """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('desa.backup_restore', true) = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND OLD.hash IS NULL
            AND to_jsonb(OLD) ->> 'key_id' IS NULL
            AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL
            AND to_jsonb(NEW) - 'seq' - 'hash' - 'key_id'
                = to_jsonb(OLD) - 'seq' - 'hash' - 'key_id' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
        MESSAGE = 'audit_log is append-only: ' || TG_OP || ' refused';
END $$;
""",
    "CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    """
CREATE OR REPLACE FUNCTION audit_log_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: TRUNCATE refused'
        USING ERRCODE = 'insufficient_privilege';
END $$;
""",
    "CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate()",
)


def install_guard(conn: Connection) -> None:
    """The append-only triggers (run wherever the table is created)."""
    for statement in GUARD_SQL:
        conn.exec_driver_sql(statement)


sa.event.listen(audit_log, "after_create",
                lambda target, connection, **kw: install_guard(connection))


def record(session: Session, subjects: Iterable[tuple[str, str | None]], *, actor: Mapping,
           action: str, purpose: str, request_id: str | None = None) -> None:
    """Append that `actor` (role, username, nik; no role: the system) did `action` on each
    (NIK, village) subject.

    One INSERT in the caller's transaction: the row lands with the read or change it describes,
    or not at all. The chain is made later by the sealer, off the request path.
    """
    insert_rows(session, audit_rows(subjects, actor=actor, action=action, purpose=purpose,
                                    request_id=request_id))


def audit_rows(subjects: Iterable[tuple[str, str | None]], *, actor: Mapping, action: str,
               purpose: str, request_id: str | None = None) -> list[dict]:
    """The audit rows `record` writes, for a caller that gathers the rows of several actors
    (a batch of reads) into one `insert_rows`."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    moment = clock.now()
    return [{"at": moment, "village_code": village, "subject_nik": nik, "action": action,
             "purpose": purpose, "actor_role": actor.get("role") or roles.SYSTEM,
             "actor_username": actor.get("username"), "actor_nik": actor.get("nik"),
             "request_id": request_id[:REQUEST_ID_MAX] if request_id else None}
            for nik, village in dict.fromkeys(subjects)]


def insert_rows(session: Session, rows: list[dict]) -> None:
    """Append audit rows (from `audit_rows`) in one INSERT in the caller's transaction."""
    if rows:
        session.execute(sa.insert(audit_log), rows)


def record_statement(subjects: Iterable[tuple[str, str | None]], *, actor: Mapping,
                     action: str, purpose: str, request_id: str | None = None
                     ) -> sa.Insert | None:
    """An INSERT of the rows `record` writes (None: no subjects), for a caller that sends it
    with its own statements in one round trip (as a data-modifying CTE): it must run in the
    transaction of the read or change it describes, as `record` does."""
    rows = audit_rows(subjects, actor=actor, action=action, purpose=purpose,
                      request_id=request_id)
    if not rows:
        return None
    # One row as keyword values, not a one-item list: a multi-row VALUES has no cache key, so
    # SQLAlchemy would compile the statement (and the one it is sent with) on every call.
    return sa.insert(audit_log).values(rows[0] if len(rows) == 1 else rows)


def record_reads(session: Session, subjects: Iterable[tuple[str | None, str | None]],
                 actor: Mapping | None, purpose: str, request_id: str | None = None) -> None:
    """Append that `actor` read the personal data of each (NIK, village) subject: what a read
    RPC of letters or potential calls in its own transaction before it answers.

    Every read RPC that returns someone's personal data takes the reader as a required argument
    (the gateway passes the logged-in account); `None` is an internal caller (the CLI, the demo
    seed) and is not logged, as in registry. Subjects without a NIK are skipped.
    """
    if actor is None:
        return
    if not isinstance(actor, Mapping):
        raise ValidationFailed("Invalid actor", fields={"actor": ["Not an object."]})
    record(session, [(nik, village) for nik, village in subjects if nik], actor=actor,
           action=READ, purpose=purpose, request_id=request_id)


# -- the keys ------------------------------------------------------------------------------------

KEY_ID_MAX = 16
KEY_BYTES_MIN = 32


class AuditKeyError(Exception):
    """DESA_AUDIT_KEYS is malformed, or a row names a key the keyring does not hold."""


@dataclass(frozen=True)
class Keyring:
    """The HMAC keys of the chain, by id: the first (current) seals, every one verifies.

    Configuration only (DESA_AUDIT_KEYS, `id:base64key[,id:base64key...]`, each key at least
    32 random bytes), like the backup keyring: never in the database it protects. Rotating is
    putting a new key first and keeping the old ones listed, so rows sealed with them verify.
    """

    keys: dict[str, bytes]
    current: str | None

    @classmethod
    def parse(cls, text: str) -> Keyring:
        keys: dict[str, bytes] = {}
        current = None
        for item in (part.strip() for part in (text or "").split(",")):
            if not item:
                continue
            key_id, sep, encoded = item.partition(":")
            key_id = key_id.strip()
            if not sep or not key_id or len(key_id) > KEY_ID_MAX:
                raise AuditKeyError("DESA_AUDIT_KEYS must be id:base64key[,id:base64key...] "
                                    f"with ids of 1-{KEY_ID_MAX} characters")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (ValueError, binascii.Error):
                raise AuditKeyError(f"audit key {key_id!r} is not base64") from None
            if len(key) < KEY_BYTES_MIN:
                raise AuditKeyError(f"audit key {key_id!r} must be at least {KEY_BYTES_MIN} "
                                    "bytes")
            if key_id in keys:
                raise AuditKeyError(f"audit key {key_id!r} is listed twice")
            keys[key_id] = key
            current = current or key_id
        return cls(keys, current)


_keyrings: dict[str, Keyring] = {}


def keyring() -> Keyring:
    """The configured keyring (parsed once per distinct setting)."""
    text = get_settings().audit_keys
    if text not in _keyrings:
        _keyrings[text] = Keyring.parse(text)
    return _keyrings[text]


def new_key_entry(key_id: str) -> str:
    """A fresh `id:base64key` item (32 random bytes) for DESA_AUDIT_KEYS."""
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES_MIN)).decode()}"


# -- the chain ----------------------------------------------------------------------------------

def canonical(service: str, row: Mapping) -> bytes:
    """The bytes a row's hash covers: every column but the hash, and the service it lives in
    (so a row copied into another service's log does not verify there). A keyed row's key id
    is covered too; a plain row's bytes are what they were before keys (decision 0032)."""
    at = row["at"]
    values = [service, row["village_code"], row["seq"], row["id"],
              at.isoformat(timespec="microseconds"), row["subject_nik"], row["action"],
              row["purpose"], row["actor_role"], row["actor_username"],
              row["actor_nik"], row["request_id"]]
    if row.get("key_id") is not None:
        values.append(row["key_id"])
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(previous: str, service: str, row: Mapping, keys: Keyring | None = None) -> str:
    """The row's link: HMAC-SHA-256 with the key its `key_id` names, or plain SHA-256 for a
    row sealed before keys. AuditKeyError when the keyring lacks the row's key."""
    message = previous.encode() + canonical(service, row)
    key_id = row.get("key_id")
    if key_id is None:
        return hashlib.sha256(message).hexdigest()
    key = (keys or keyring()).keys.get(key_id)
    if key is None:
        raise AuditKeyError(f"audit key {key_id!r} is not in DESA_AUDIT_KEYS")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _chain(village: str | None):
    column = audit_log.c.village_code
    return column.is_(None) if village is None else column == village


def _head(session: Session, village: str | None) -> tuple[int, str]:
    found = session.execute(
        sa.select(audit_log.c.seq, audit_log.c.hash)
        .where(_chain(village), audit_log.c.seq.is_not(None))
        .order_by(audit_log.c.seq.desc()).limit(1)).first()
    return (found.seq, found.hash) if found else (0, GENESIS)


def seal_batch(session: Session, service: str, limit: int = SEAL_BATCH) -> int:
    """Chain up to `limit` unsealed rows, oldest id first; the number sealed (0 if another
    process holds the sealer's lock: one sealer per database at a time keeps chains linear)."""
    if not session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(
            sa.func.hashtext(_SEAL_LOCK)))):
        return 0
    rows = session.execute(sa.select(audit_log).where(audit_log.c.seq.is_(None))
                           .order_by(audit_log.c.id).limit(limit)).mappings().all()
    keys = keyring()
    heads: dict[str | None, tuple[int, str]] = {}
    updates = []
    for row in rows:
        village = row["village_code"]
        if village not in heads:
            heads[village] = _head(session, village)
        seq, previous = heads[village]
        sealed = {**row, "seq": seq + 1, "key_id": keys.current}
        digest = chain_hash(previous, service, sealed, keys)
        heads[village] = (seq + 1, digest)
        updates.append({"row_id": row["id"], "new_seq": seq + 1, "new_hash": digest,
                        "new_key_id": keys.current})
    if updates:
        session.execute(
            sa.update(audit_log).where(audit_log.c.id == sa.bindparam("row_id"))
            .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"),
                    key_id=sa.bindparam("new_key_id")),
            updates, execution_options={"synchronize_session": False})
    return len(updates)


_anchored: set[tuple] = set()

# Each chain's newest sealed row's key id, one index probe per village on ix_audit_log_chain:
# a skip scan (the recursive part walks the distinct village codes, NULL's chain apart, as
# btree sorts it last), not a DISTINCT ON that reads every sealed row (5 million rows: 12-15 s
# against 28 ms, measured; it runs at each process's first seal).
CHAIN_HEADS = sa.text("""
WITH RECURSIVE villages AS (
    (SELECT village_code FROM audit_log
      WHERE seq IS NOT NULL AND village_code IS NOT NULL ORDER BY village_code LIMIT 1)
    UNION ALL
    SELECT (SELECT a.village_code FROM audit_log a
             WHERE a.seq IS NOT NULL AND a.village_code > villages.village_code
             ORDER BY a.village_code LIMIT 1)
      FROM villages WHERE villages.village_code IS NOT NULL
)
SELECT village_code, (SELECT a.key_id FROM audit_log a
                       WHERE a.village_code = villages.village_code AND a.seq IS NOT NULL
                       ORDER BY a.seq DESC LIMIT 1) AS key_id
  FROM villages WHERE village_code IS NOT NULL
UNION ALL
SELECT NULL, key_id FROM (SELECT key_id FROM audit_log
                           WHERE village_code IS NULL AND seq IS NOT NULL
                           ORDER BY seq DESC LIMIT 1) AS regency
""")


def anchor_unkeyed(session: Session, service: str) -> int:
    """Append an anchor row to every chain whose newest sealed row has a plain hash (the
    chains of before keys), for the sealer to seal with the current key: its HMAC covers the
    plain rows before it. Once per process, database and key (a keyed sealer keeps every
    chain's head keyed afterwards); the number of chains anchored."""
    keys = keyring()
    done = (service, str(session.get_bind().url), keys.current)
    if keys.current is None or done in _anchored:
        return 0
    heads = session.execute(CHAIN_HEADS).all()
    plain = [village for village, key_id in heads if key_id is None]
    if plain:
        session.execute(sa.insert(audit_log), [
            {"at": clock.now(), "village_code": village, "subject_nik": ANCHOR_SUBJECT,
             "action": ANCHOR, "purpose": ANCHOR_PURPOSE, "actor_role": roles.SYSTEM}
            for village in plain])
    session.commit()
    _anchored.add(done)
    return len(plain)


def seal(session: Session, service: str) -> int:
    """Seal in committed batches until the log is chained (bounded per call); rows sealed.
    With a key, chains that still end in a plain row get their anchor first."""
    anchor_unkeyed(session, service)
    total = 0
    for _ in range(SEAL_BATCHES_PER_CALL):
        sealed = seal_batch(session, service)
        session.commit()
        total += sealed
        if sealed < SEAL_BATCH:
            break
    return total


def verify(session: Session, service: str, keys: Keyring | None = None) -> dict:
    """Walk every village's chain in order: its length, and the first position that breaks.

    A break is a row whose hash does not follow from its predecessor (`altered`: changed, or
    moved), a position with no row (`missing`: deleted), a row sealed with a key the keyring
    lacks (`unknown_key`), or, when keys are configured, a plain SHA-256 row after a keyed one
    or a chain that does not end in a keyed row (`unkeyed`: rewritten by someone without the
    key, at the first plain row of its tail). Plain rows before a chain's first keyed row are
    its history from before keys: the keyed row's HMAC covers their last hash, so changing one
    breaks the chain there; `seal` anchors every such chain with a keyed row first.
    Unsealed rows are counted, not judged.
    """
    keys = keys or keyring()
    breaks = []
    chains = rows = keyed = unkeyed_chains = 0
    for village, chain in _chains(session):
        chains += 1
        expected, previous = 1, GENESIS
        problem = None
        chain_keyed = False
        plain_tail: Mapping | None = None  # the first plain row after the last keyed one
        for row in chain:
            rows += 1
            if row["key_id"] is not None:
                keyed += 1
            if problem:
                continue
            plain = row["key_id"] is None
            if row["seq"] != expected:
                problem = {"position": expected, "problem": "missing",
                           "detail": f"no row at position {expected}; next is {row['seq']}"}
            elif plain and chain_keyed and keys.current is not None:
                problem = {"position": expected, "problem": "unkeyed",
                           "detail": f"row {row['id']} has a plain hash after keyed rows"}
            elif not plain and row["key_id"] not in keys.keys:
                problem = {"position": expected, "problem": "unknown_key",
                           "detail": f"row {row['id']} was sealed with key "
                                     f"{row['key_id']!r}, which DESA_AUDIT_KEYS lacks"}
            elif not hmac.compare_digest(chain_hash(previous, service, row, keys),
                                         row["hash"] or ""):
                problem = {"position": expected, "problem": "altered",
                           "detail": f"row {row['id']} does not match its chain"}
            else:
                expected, previous = expected + 1, row["hash"]
                chain_keyed = chain_keyed or not plain
                plain_tail = (plain_tail or row) if plain else None
        if not chain_keyed:
            unkeyed_chains += 1
        if not problem and plain_tail is not None and keys.current is not None:
            problem = {"position": plain_tail["seq"], "problem": "unkeyed",
                       "detail": f"the chain ends in plain hashes from row {plain_tail['id']} "
                                 "on: rewritten without the key, or sealed before keys and not "
                                 "anchored yet (`desa audit verify` seals and anchors first)"}
        if problem:
            breaks.append({"service": service, "village_code": village, **problem})
    unsealed = session.scalar(sa.select(sa.func.count()).select_from(audit_log)
                              .where(audit_log.c.seq.is_(None)))
    return {"service": service, "chains": chains, "rows": rows, "keyed_rows": keyed,
            "unkeyed_chains": unkeyed_chains, "unsealed": unsealed or 0,
            "intact": not breaks, "breaks": breaks}


def _chains(session: Session) -> Iterator[tuple[str | None, Iterator[Mapping]]]:
    """(village, its sealed rows in order) for every chain, streamed."""
    result = session.execute(
        sa.select(audit_log).where(audit_log.c.seq.is_not(None))
        .order_by(audit_log.c.village_code.nulls_first(), audit_log.c.seq)
        .execution_options(yield_per=2000)).mappings()
    current: str | None = None
    batch: list[Mapping] = []
    started = False
    for row in result:
        if started and row["village_code"] != current:
            yield current, iter(batch)
            batch = []
        current, started = row["village_code"], True
        batch.append(row)
    if started:
        yield current, iter(batch)


# -- reading it (the contract of every service's audit_entries and audit_verify RPCs) ------------

class AuditEntriesArgs(PageArgs):
    village_code = fields.String(load_default=None, validate=village_code_rule,
                                 metadata={"example": "36.04.15.2001"})
    nik = fields.String(load_default=None, validate=person_number,
                        metadata={"description": "The person whose data was read or changed."})
    actor = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                          metadata={"description": "A staff account's username."})
    action = fields.String(load_default=None, validate=validate.OneOf(ACTIONS))


class AuditEntry(Schema):
    """One audited access: who (role, account) did what to whose data (NIK masked), and where
    it stands in its village's chain (null until sealed, within seconds)."""

    service = fields.String()
    at = fields.DateTime()
    village_code = fields.String(allow_none=True)
    subject_nik = fields.String(metadata={"example": "3604********9001"})
    action = fields.String(metadata={"example": READ})
    purpose = fields.String(metadata={"example": "resident.read"})
    actor_role = fields.String()
    actor_username = fields.String(allow_none=True)
    actor_nik = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    position = fields.Integer(allow_none=True)


AuditEntryPage = page_schema(AuditEntry, "AuditEntryPage")


class ChainBreak(Schema):
    service = fields.String()
    village_code = fields.String(allow_none=True)
    position = fields.Integer(metadata={"description": "First position of the chain that fails."})
    problem = fields.String(metadata={
        "example": "altered", "enum": ["altered", "missing", "unkeyed", "unknown_key"]})
    detail = fields.String()


class AuditVerification(Schema):
    service = fields.String()
    chains = fields.Integer()
    rows = fields.Integer()
    keyed_rows = fields.Integer(metadata={
        "description": "Rows sealed with an HMAC key (DESA_AUDIT_KEYS; decision 0035)."})
    unkeyed_chains = fields.Integer(metadata={
        "description": "Chains with no keyed row yet (only rows sealed before keys)."})
    unsealed = fields.Integer()
    intact = fields.Boolean()
    breaks = fields.List(fields.Nested(ChainBreak))


def entries(session: Session, service: str, **filters) -> dict:
    """A page of the log, newest first, filtered; NIKs masked (the reader is an auditor, not
    the resident's office)."""
    args = load(AuditEntriesArgs(), {k: v for k, v in filters.items() if v is not None})
    village_code, nik, actor, action = (args[k] for k in ("village_code", "nik", "actor",
                                                          "action"))
    page, per_page = args["page"], args["per_page"]
    query = sa.select(audit_log).order_by(audit_log.c.id.desc())
    if village_code:
        query = query.where(audit_log.c.village_code == village_code)
    if nik:
        query = query.where(audit_log.c.subject_nik == nik)
    if actor:
        query = query.where(audit_log.c.actor_username == actor)
    if action:
        query = query.where(audit_log.c.action == action)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None)
                                                                   .subquery())) or 0
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).mappings()
    items = [{"service": service, "at": row["at"], "village_code": row["village_code"],
              "subject_nik": mask_personal_numbers(row["subject_nik"]),
              "action": row["action"], "purpose": row["purpose"], "actor_role": row["actor_role"],
              "actor_username": row["actor_username"],
              "actor_nik": mask_personal_numbers(row["actor_nik"]) if row["actor_nik"] else None,
              "request_id": row["request_id"], "position": row["seq"]}
             for row in rows]
    items = AuditEntry(many=True).dump(items)
    return {"items": items, "total": total, "page": page, "per_page": per_page}

