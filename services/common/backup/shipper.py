"""The backup shipper (`desa backup ship`): sends every service's captured changes to the backup
store within seconds, and takes the scheduled snapshots.

A pass, in one transaction holding the service's advisory lock (one active shipper per service):
read the oldest change rows, copy the documents they name (checked against the row's SHA-256),
write one journal segment per village, and only then delete the rows. If the store is down the
transaction rolls back and the rows wait; a shipper killed mid-pass leaves them too, and the next
pass ships them again in a new segment (restore keeps each change id once).
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.backup import journal, retention, snapshot
from services.common.backup.capture import Schema
from services.common.backup.store import (
    BackupStore,
    document_name,
    journal_name,
    sequences_name,
)
from services.common.config import get_settings
from services.common.db import make_engine
from services.common.objectstore import ObjectStoreClient, documents_store
from services.common.tables import backup_changes as _CHANGES

log = logging.getLogger(__name__)
BATCH_SIZE = 5000
PARALLEL = 8
RETRY_MAX_SECONDS = 30.0


def lock_key(service: str) -> int:
    return zlib.crc32(f"desa-backup:{service}".encode())


def encode_change(row) -> dict:
    return {"id": row.id, "xid": row.xid, "at": row.at.isoformat(), "tbl": row.tbl,
            "op": row.op, "row": row.row}


class Shipper:
    def __init__(self, service: str, engine: Engine | None = None,
                 store: BackupStore | None = None, documents: ObjectStoreClient | None = None,
                 batch_size: int = BATCH_SIZE,
                 on_shipped: Callable[[list, float], None] | None = None):
        self.service = service
        self.engine = engine or make_engine(get_settings().database_url(service), pool_size=2)
        self.store = store or BackupStore.from_settings()
        self.documents = documents or documents_store()
        self.batch_size = batch_size
        self.on_shipped = on_shipped
        self.seqs: dict[str, int] | None = None
        self.copied: set[str] = set()
        self.sequences: dict | None = None
        self.schema: Schema | None = None
        self.pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix=f"ship-{service}")

    def _load_seqs(self) -> dict[str, int]:
        listing = journal.list_service(self.store, self.service)
        return {scope: item.last_seq for scope, item in listing.items()}

    def ship_once(self) -> int:
        """One pass; returns how many changes reached the store."""
        if self.seqs is None:
            self.seqs = self._load_seqs()
        if self.schema is None:
            self.schema = Schema.load(self.engine)
        try:
            with self.engine.begin() as conn:
                if not conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(
                        lock_key(self.service)))):
                    return 0
                rows = conn.execute(sa.select(_CHANGES).order_by(_CHANGES.c.id)
                                    .limit(self.batch_size)).all()
                if not rows:
                    return 0
                self._copy_documents(rows)
                by_scope: dict[str, list] = defaultdict(list)
                for row in rows:
                    by_scope[row.village].append(row)
                jobs = []
                for scope, changes in by_scope.items():
                    seq = self.seqs.get(scope, 0) + 1
                    self.seqs[scope] = seq
                    body = {"service": self.service, "scope": scope, "seq": seq,
                            "changes": [encode_change(c) for c in changes]}
                    jobs.append(self.pool.submit(
                        self.store.put_json, journal_name(self.service, scope, seq), body))
                for job in jobs:
                    job.result()
                self._record_sequences(conn)
                conn.execute(_CHANGES.delete().where(_CHANGES.c.id.in_([r.id for r in rows])))
        except BaseException:
            self.seqs = None  # a segment may have landed: list again before the next one
            self.schema = None
            raise
        if self.on_shipped is not None:
            self.on_shipped(rows, time.time())
        return len(rows)

    def _record_sequences(self, conn) -> None:
        """Keep the service's identity sequences in the store, so a village restored onto an
        empty machine never hands out an id another village's rows (restored later) hold."""
        values = dict(conn.execute(sa.text(
            "SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences "
            "WHERE schemaname = current_schema()")).all())
        if values != self.sequences:
            self.store.put_json(sequences_name(self.service), values)
            self.sequences = values

    def _copy_documents(self, rows: list) -> None:
        wanted = {}
        if any(row.tbl not in self.schema.tables for row in rows):
            self.schema = Schema.load(self.engine)  # a migration added a table meanwhile
        for row in rows:
            info = self.schema.tables.get(row.tbl)
            if row.op != "U" or info is None:
                continue
            for key_col, sha_col in info.documents:
                key = row.row.get(key_col)
                if key and key not in self.copied:
                    wanted[key] = row.row.get(sha_col)
        jobs = {key: self.pool.submit(self._copy_document, key, sha)
                for key, sha in wanted.items()}
        for key, job in jobs.items():
            job.result()
            self.copied.add(key)

    def _copy_document(self, key: str, sha256: str | None) -> None:
        if self.store.exists(document_name(key)):
            return
        try:
            response = self.documents.client.get_object(self.documents.bucket, key)
            try:
                data = response.read()
                content_type = response.headers.get("Content-Type", "application/octet-stream")
            finally:
                response.close()
                response.release_conn()
        except Exception as exc:  # noqa: BLE001 - a document deleted since is no reason to stop
            if getattr(exc, "code", None) in ("NoSuchKey", "NoSuchObject", "NotFound"):
                log.error("document named by a row is missing from the primary bucket",
                          extra={"key": key})
                return
            raise
        actual = hashlib.sha256(data).hexdigest()
        if sha256 and actual != sha256:
            log.error("document in the primary bucket does not match its row's SHA-256",
                      extra={"key": key, "expected": sha256, "actual": actual})
        self.store.put_document(key, data, content_type)

    def snapshot_due(self, interval: timedelta) -> bool:
        listing = journal.list_service(self.store, self.service)
        stamps = [s for item in listing.values() for s in item.complete_snapshots()]
        return not stamps or journal.stamp_time(max(stamps)) + interval <= datetime.now(UTC)

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        self.engine.dispose()


OUTBOX_PRUNE_BATCH = 5000


def prune_outbox(engine: Engine, keep: timedelta) -> int:
    """Delete outbox rows the relay sent more than `keep` ago and the backup store already has:
    no change row of theirs still waits in `backup_changes` (the shipper deletes change rows only
    once their segment is stored, and the relay's `sent_at` is committed with its change row).
    The deletes are captured like any others. Returns how many rows were deleted."""
    deleted = 0
    while True:
        with engine.begin() as conn:
            count = conn.execute(sa.text(
                "DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox o "
                "WHERE o.sent_at < now() - make_interval(secs => :keep) AND NOT EXISTS ("
                "SELECT 1 FROM backup_changes c WHERE c.tbl = 'outbox' "
                "AND c.row->>'id' = o.id::text) ORDER BY o.id LIMIT :batch)"),
                {"keep": keep.total_seconds(), "batch": OUTBOX_PRUNE_BATCH}).rowcount
        deleted += count
        if count < OUTBOX_PRUNE_BATCH:
            return deleted


def run_shipper(shipper: Shipper, stop: threading.Event, poll: float,
                snapshot_hours: float, outbox_keep: timedelta | None = None) -> None:
    """Ship until `stop`; take the scheduled snapshots and apply retention when they are due;
    every minute, prune the outbox rows older than `outbox_keep` that are safely shipped."""
    delay = poll
    interval = timedelta(hours=snapshot_hours)
    next_snapshot_check = 0.0
    while not stop.is_set():
        try:
            shipped = shipper.ship_once()
            if time.monotonic() >= next_snapshot_check:
                next_snapshot_check = time.monotonic() + 60
                if outbox_keep is not None:
                    prune_outbox(shipper.engine, outbox_keep)
                if snapshot_hours > 0 and shipper.snapshot_due(interval):
                    snapshot.take_all(shipper.service, shipper.engine, shipper.store)
                    retention.prune(shipper.store, shipper.service)
            delay = poll
            if shipped:
                continue
        except Exception:  # noqa: BLE001 - store or database down: the rows wait, retry
            log.exception("backup shipping failed; retrying",
                          extra={"backup_service": shipper.service})
            delay = min(max(delay * 2, 1.0), RETRY_MAX_SECONDS)
        stop.wait(delay)


def run_shippers(services: list[str], stop: threading.Event) -> list[threading.Thread]:
    settings = get_settings()
    store = BackupStore.from_settings(settings)
    store.ensure_bucket()
    threads = []
    for name in services:
        shipper = Shipper(name, store=store)
        thread = threading.Thread(
            target=run_shipper, name=f"ship-{name}", daemon=True,
            args=(shipper, stop, settings.backup_poll_seconds, settings.backup_snapshot_hours,
                  timedelta(hours=settings.outbox_keep_hours)))
        thread.start()
        threads.append(thread)
    return threads


def segment_changes(body: bytes) -> list[dict]:
    return json.loads(body)["changes"]
