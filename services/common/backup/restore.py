"""Restore one village (or all) of a service from the backup store alone.

Everything is fetched and checked before anything is written: the snapshot (the newest one taken
before `--at`, if given), every journal segment after it without a gap, each object's
authentication tag and each table's SHA-256. Then one transaction with `desa.backup_restore` set
(the capture triggers stand aside, finance's append-only cash entries accept it) replaces the
village's rows: delete them, load the snapshot, replay the journal in order (only transactions
the snapshot did not hold, and with `--at` only those whose last change came before it), move
identity sequences past the restored ids, and put every document the rows name back in the
primary bucket, each checked against its row's SHA-256. A missing or corrupt object raises
RestoreFailed before the commit: nothing is half restored. Other villages' rows are not touched.
`prepare_service` stops short of the commit, so that `operations.restore` commits every service
of a restore only once all of them got that far.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from services.common.backup import journal
from services.common.backup.capture import Schema, copy_expert, q
from services.common.backup.crypto import BackupKeyError, CorruptObject
from services.common.backup.store import BackupStore, MissingObject, sequences_name
from services.common.objectstore import ObjectStoreClient

log = logging.getLogger(__name__)
PARALLEL = 8
REPLAY_CHUNK = 1000


ABORTED = "stopped, another service's restore failed"


class RestoreFailed(Exception):
    """The backup of a village cannot be restored as it is; nothing was changed."""


@dataclass
class ScopePlan:
    scope: str
    manifest: dict | None
    data: bytes = b""
    changes: list[dict] = field(default_factory=list)


@dataclass
class Report:
    service: str
    scopes: list[str]
    snapshot_rows: dict[str, int] = field(default_factory=dict)
    changes_replayed: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    document_bytes: int = 0
    backup_bytes: int = 0
    seconds: float = 0.0
    document_seconds: float = 0.0
    snapshots: dict[str, str | None] = field(default_factory=dict)


def _fetch(store: BackupStore, name: str, what: str, scope: str) -> bytes:
    try:
        return store.get(name)
    except (MissingObject, CorruptObject, BackupKeyError) as exc:
        raise RestoreFailed(f"village {scope}: {what} cannot be used: {exc}") from None


def plan_scope(store: BackupStore, service: str, scope: str, listing: journal.ScopeListing,
               at: datetime | None, pool: ThreadPoolExecutor) -> ScopePlan:
    stamps = [s for s in listing.complete_snapshots()
              if at is None or journal.stamp_time(s) <= at]
    manifest = None
    plan = ScopePlan(scope, None)
    if stamps:
        prefix = journal.snapshot_prefix(service, scope, stamps[-1])
        manifest = json.loads(_fetch(store, prefix + "manifest", "snapshot manifest", scope))
        plan.data = _fetch(store, prefix + "data", "snapshot data", scope)
        if hashlib.sha256(plan.data).hexdigest() != manifest["data_sha256"]:
            raise RestoreFailed(f"village {scope}: snapshot {stamps[-1]} data does not match "
                                "its manifest's SHA-256")
        for table, entry in manifest["tables"].items():
            body = plan.data[entry["offset"]:entry["offset"] + entry["length"]]
            if hashlib.sha256(body).hexdigest() != entry["sha256"]:
                raise RestoreFailed(f"village {scope}: snapshot table {table} does not match "
                                    "its SHA-256")
        plan.manifest = manifest
    after = manifest["journal_seq"] if manifest else 0
    seqs = sorted(s for s in listing.segments if s > after)
    expected = list(range(after + 1, after + 1 + len(seqs)))
    if seqs != expected:
        missing = sorted(set(range(after + 1, (seqs[-1] if seqs else after) + 1)) - set(seqs))
        raise RestoreFailed(f"village {scope}: journal segment(s) {missing[:5]} of {service} "
                            "missing from the backup store")
    bodies = list(pool.map(lambda s: (s, _fetch(store, listing.segments[s].name,
                                                 f"journal segment {s}", scope)), seqs))
    seen: set = set()
    ordered = []
    for seq, body in bodies:
        for change in json.loads(body)["changes"]:
            identity = (change["id"], change["xid"], change["at"])
            if identity in seen:
                continue  # shipped twice (a shipper stopped between upload and delete)
            seen.add(identity)
            if manifest and journal.visible_in(manifest["pg_snapshot"], change["xid"]):
                continue
            ordered.append((seq, change["id"], change))
    ordered.sort(key=lambda item: item[:2])
    changes = [c for _, _, c in ordered]
    if at is not None:
        last = {}
        for change in changes:
            stamp = datetime.fromisoformat(change["at"])
            last[change["xid"]] = max(last.get(change["xid"], stamp), stamp)
        changes = [c for c in changes if last[c["xid"]] <= at]
    plan.changes = changes
    return plan


def _replay(cursor, schema: Schema, changes: list[dict]) -> int:
    applied = 0
    index = 0
    while index < len(changes):
        table, op = changes[index]["tbl"], changes[index]["op"]
        end = index
        while end < len(changes) and end - index < REPLAY_CHUNK and \
                changes[end]["tbl"] == table and changes[end]["op"] == op:
            end += 1
        info = schema.tables.get(table)
        if info is None:
            raise RestoreFailed(f"the journal names table {table}, which this database lacks "
                                "(migrate to the backup's version first)")
        latest = {}
        for change in changes[index:end]:
            latest[tuple(change["row"].get(c) for c in info.pk)] = change["row"]
        rows = json.dumps(list(latest.values()))
        pk = ", ".join(q(c) for c in info.pk)
        if op == "U":
            columns = ", ".join(q(c) for c in info.columns)
            updates = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in info.columns
                                if c not in info.pk)
            action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
            overriding = "OVERRIDING SYSTEM VALUE " if info.identity else ""
            cursor.execute(
                f"INSERT INTO {q(table)} ({columns}) {overriding}SELECT {columns} FROM "
                f"jsonb_populate_recordset(NULL::{q(table)}, %(rows)s::jsonb) "
                f"ON CONFLICT ({pk}) {action}", {"rows": rows})
        else:
            match = " AND ".join(f"t.{q(c)} = r.{q(c)}" for c in info.pk)
            cursor.execute(
                f"DELETE FROM {q(table)} t USING jsonb_populate_recordset(NULL::{q(table)}, "
                f"%(rows)s::jsonb) r WHERE {match}", {"rows": rows})
        applied += end - index
        index = end
    return applied


class Prepared:
    """A service's restore done in an open transaction: `commit` makes it so, `rollback` leaves
    the service as it was (documents already put back are the verified bytes their rows name)."""

    def __init__(self, report: Report, conn: Connection, transaction, started: float):
        self.report = report
        self._conn = conn
        self._transaction = transaction
        self._started = started

    def commit(self) -> Report:
        try:
            self._transaction.commit()
        finally:
            self._conn.close()
        self.report.seconds = time.monotonic() - self._started
        return self.report

    def rollback(self) -> None:
        try:
            self._transaction.rollback()
        finally:
            self._conn.close()


def restore_service(service: str, engine: Engine, store: BackupStore,
                    documents: ObjectStoreClient, scopes: list[str] | None,
                    at: datetime | None = None,
                    progress: Callable[[str, int], None] | None = None) -> Report:
    """Restore `scopes` of `service` (None: every scope in the backup, replacing every row)."""
    return prepare_service(service, engine, store, documents, scopes, at, progress).commit()


def prepare_service(service: str, engine: Engine, store: BackupStore,
                    documents: ObjectStoreClient, scopes: list[str] | None,
                    at: datetime | None = None,
                    progress: Callable[[str, int], None] | None = None,
                    abort: threading.Event | None = None,
                    before_commit: Callable[[Connection], None] | None = None) -> Prepared:
    """Everything of `restore_service` but the commit. `abort` set (another service of the same
    restore failed): stop at the next step with RestoreFailed, nothing changed. `before_commit`
    runs last in the same transaction, with capture on again (the republish: its events commit
    with the restore, while other services still put their documents back)."""
    started = time.monotonic()

    def check_abort() -> None:
        if abort is not None and abort.is_set():
            raise RestoreFailed(f"{service}: {ABORTED}")

    listing = journal.list_service(store, service)
    replace_all = scopes is None
    chosen = sorted(listing) if replace_all else scopes
    report = Report(service, chosen)
    with ThreadPoolExecutor(PARALLEL) as pool:
        plans = []
        for scope in chosen:
            if scope not in listing:
                if not replace_all:
                    raise RestoreFailed(f"village {scope}: nothing of {service} in the backup "
                                        "store")
                continue
            check_abort()
            plans.append(plan_scope(store, service, scope, listing[scope], at, pool))
            if progress:
                progress("fetched", 1)
        report.backup_bytes = sum(item.size for scope in chosen if scope in listing
                                  for item in listing[scope].segments.values()) + \
            sum(len(p.data) for p in plans)
        schema = Schema.load(engine)
        conn = engine.connect()
        transaction = conn.begin()
        try:
            cursor = conn.connection.cursor()
            cursor.execute("SELECT version_num FROM alembic_version LIMIT 1")
            head = cursor.fetchone()[0]
            for plan in plans:
                if plan.manifest and plan.manifest["migration_head"] != head:
                    raise RestoreFailed(
                        f"village {plan.scope}: the snapshot was taken at migration "
                        f"{plan.manifest['migration_head']} of {service}, this database is at "
                        f"{head}; restore with the release that made the backup")
            check_abort()
            cursor.execute("SET LOCAL desa.backup_restore = 'on'")
            tables = list(schema)
            for info in reversed(tables):  # children first: their village comes from parents
                if replace_all:
                    cursor.execute(f"DELETE FROM {q(info.name)}")
                else:
                    for plan in plans:
                        cursor.execute(f"DELETE FROM {q(info.name)} t WHERE "
                                       f"{schema.scope_filter(info.name)}", {"scope": plan.scope})
            for plan in plans:
                report.snapshots[plan.scope] = plan.manifest["stamp"] if plan.manifest else None
                for info in tables if plan.manifest else ():
                    entry = plan.manifest["tables"].get(info.name)
                    if not entry or not entry["rows"]:
                        continue
                    body = plan.data[entry["offset"]:entry["offset"] + entry["length"]]
                    columns = ", ".join(q(c) for c in entry["columns"])
                    copy_expert(cursor, f"COPY {q(info.name)} ({columns}) FROM STDIN",
                                io.BytesIO(body))
                    if cursor.rowcount != entry["rows"]:
                        raise RestoreFailed(f"village {plan.scope}: {info.name} loaded "
                                            f"{cursor.rowcount} rows, manifest says "
                                            f"{entry['rows']}")
                    report.snapshot_rows[info.name] = \
                        report.snapshot_rows.get(info.name, 0) + entry["rows"]
                report.changes_replayed += _replay(cursor, schema, plan.changes)
            check_abort()
            try:
                recorded = store.get_json(sequences_name(service))
            except MissingObject:
                recorded = {}
            for info in tables:
                for column in info.identity:
                    _advance_sequence(cursor, info.name, column, recorded)
            documents_began = time.monotonic()
            report.documents, report.document_bytes = _put_documents(
                cursor, schema, [p.scope for p in plans], replace_all, store, documents, pool,
                progress, check_abort)
            report.document_seconds = time.monotonic() - documents_began
            for info in tables:
                where = "" if replace_all else " WHERE " + " OR ".join(
                    cursor.mogrify(schema.scope_filter(info.name), {"scope": p.scope}).decode()
                    for p in plans)
                if plans or replace_all:
                    cursor.execute(f"SELECT count(*) FROM {q(info.name)} t{where}")
                    report.rows[info.name] = cursor.fetchone()[0]
            if before_commit is not None:
                check_abort()
                cursor.execute("SET LOCAL desa.backup_restore = 'off'")
                before_commit(conn)
        except BaseException:
            try:
                transaction.rollback()
            finally:
                conn.close()
            raise
    report.seconds = time.monotonic() - started
    return Prepared(report, conn, transaction, started)


def _advance_sequence(cursor, table: str, column: str, recorded: dict) -> None:
    """Past every restored id, and past what the service had handed out when last shipped."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", (q(table), column))
    sequence = cursor.fetchone()[0]
    if sequence:
        floor = int(recorded.get(sequence.split(".")[-1].strip('"'), 0))
        cursor.execute(f"SELECT setval(%(s)s, GREATEST((SELECT coalesce(max({q(column)}), 1) "
                       f"FROM {q(table)}), (SELECT last_value FROM {sequence}), %(f)s))",
                       {"s": sequence, "f": floor})


def _put_documents(cursor, schema: Schema, scopes: list[str], replace_all: bool,
                   store: BackupStore, documents: ObjectStoreClient, pool: ThreadPoolExecutor,
                   progress, check_abort: Callable[[], None]) -> tuple[int, int]:
    wanted: dict[str, str] = {}
    for info in schema:
        for key_col, sha_col in info.documents:
            select = f"SELECT t.{q(key_col)}, t.{q(sha_col)} FROM {q(info.name)} t " \
                     f"WHERE t.{q(key_col)} IS NOT NULL"
            if replace_all:
                cursor.execute(select)
                wanted.update(cursor.fetchall())
            else:
                for scope in scopes:
                    cursor.execute(select + f" AND {schema.scope_filter(info.name)}",
                                   {"scope": scope})
                    wanted.update(cursor.fetchall())
    if wanted:
        documents.ensure_bucket()

    def put_back(item: tuple[str, str]) -> int:
        key, sha = item
        check_abort()
        try:
            data, content_type = store.get_document(key, sha)
        except (MissingObject, CorruptObject, BackupKeyError) as exc:
            raise RestoreFailed(f"document {key}: {exc}") from None
        documents.put_bytes(key, data, content_type)
        if progress:
            progress("documents", 1)
        return len(data)

    sizes = list(pool.map(put_back, wanted.items()))
    return len(sizes), sum(sizes)
