"""The audit log: who read or changed whose personal data, hash-chained per village (decision 0032).

Every service has the kernel's `audit_log` table. A request that reads or changes personal data
appends its rows with `record` in its own transaction: one INSERT, nothing else on the request
path. The sealer (`seal`, a timer of every service) later walks unsealed rows in id order and
gives each the next position (`seq`) of its village's chain and
`hash = SHA-256(previous hash || canonical row)`, so an altered, deleted or reordered row no
longer matches its chain. A trigger keeps the table append-only: no DELETE, and an UPDATE only
to set `seq` and `hash` once (a restore, with `desa.backup_restore` on, may do both).
`verify` walks every chain and names the first position that breaks.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from services.common import clock, roles
from services.common.errors import ValidationFailed
from services.common.fields import load, person_number
from services.common.fields import village_code as village_code_rule
from services.common.logs import mask_personal_numbers
from services.common.pagination import PageArgs, page_schema
from services.common.tables import audit_log

READ = "read"
CHANGE = "change"
ACTIONS = (READ, CHANGE)
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
            AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL
            AND to_jsonb(NEW) - 'seq' - 'hash' = to_jsonb(OLD) - 'seq' - 'hash' THEN
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
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    moment = clock.now()
    rows = [{"at": moment, "village_code": village, "subject_nik": nik, "action": action,
             "purpose": purpose, "actor_role": actor.get("role") or roles.SYSTEM,
             "actor_username": actor.get("username"), "actor_nik": actor.get("nik"),
             "request_id": request_id[:REQUEST_ID_MAX] if request_id else None}
            for nik, village in dict.fromkeys(subjects)]
    if rows:
        session.execute(sa.insert(audit_log), rows)


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


# -- the chain ----------------------------------------------------------------------------------

def canonical(service: str, row: Mapping) -> bytes:
    """The bytes a row's hash covers: every column but the hash, and the service it lives in
    (so a row copied into another service's log does not verify there)."""
    at = row["at"]
    return json.dumps([service, row["village_code"], row["seq"], row["id"],
                       at.isoformat(timespec="microseconds"), row["subject_nik"], row["action"],
                       row["purpose"], row["actor_role"], row["actor_username"],
                       row["actor_nik"], row["request_id"]],
                      separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(previous: str, service: str, row: Mapping) -> str:
    return hashlib.sha256(previous.encode() + canonical(service, row)).hexdigest()


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
    heads: dict[str | None, tuple[int, str]] = {}
    updates = []
    for row in rows:
        village = row["village_code"]
        if village not in heads:
            heads[village] = _head(session, village)
        seq, previous = heads[village]
        sealed = {**row, "seq": seq + 1}
        digest = chain_hash(previous, service, sealed)
        heads[village] = (seq + 1, digest)
        updates.append({"row_id": row["id"], "new_seq": seq + 1, "new_hash": digest})
    if updates:
        session.execute(
            sa.update(audit_log).where(audit_log.c.id == sa.bindparam("row_id"))
            .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash")),
            updates, execution_options={"synchronize_session": False})
    return len(updates)


def seal(session: Session, service: str) -> int:
    """Seal in committed batches until the log is chained (bounded per call); rows sealed."""
    total = 0
    for _ in range(SEAL_BATCHES_PER_CALL):
        sealed = seal_batch(session, service)
        session.commit()
        total += sealed
        if sealed < SEAL_BATCH:
            break
    return total


def verify(session: Session, service: str) -> dict:
    """Walk every village's chain in order: its length, and the first position that breaks.

    A break is a row whose hash does not follow from its predecessor (altered, or moved), or a
    position with no row (deleted). Unsealed rows are counted, not judged.
    """
    breaks = []
    chains = rows = 0
    for village, chain in _chains(session):
        chains += 1
        expected, previous = 1, GENESIS
        problem = None
        for row in chain:
            rows += 1
            if problem:
                continue
            if row["seq"] != expected:
                problem = {"position": expected, "problem": "missing",
                           "detail": f"no row at position {expected}; next is {row['seq']}"}
            elif chain_hash(previous, service, row) != row["hash"]:
                problem = {"position": expected, "problem": "altered",
                           "detail": f"row {row['id']} does not match its chain"}
            else:
                expected, previous = expected + 1, row["hash"]
        if problem:
            breaks.append({"service": service, "village_code": village, **problem})
    unsealed = session.scalar(sa.select(sa.func.count()).select_from(audit_log)
                              .where(audit_log.c.seq.is_(None)))
    return {"service": service, "chains": chains, "rows": rows, "unsealed": unsealed or 0,
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
    problem = fields.String(metadata={"example": "altered"})
    detail = fields.String()


class AuditVerification(Schema):
    service = fields.String()
    chains = fields.Integer()
    rows = fields.Integer()
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

