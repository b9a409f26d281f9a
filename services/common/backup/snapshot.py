"""Per-village, per-service snapshots: the village's rows of every table, as of one instant.

One REPEATABLE READ transaction per service reads every table once (`COPY` text, with the row's
village as first field) and splits the rows by village; each village's snapshot is a `data`
object and a `manifest` written after it (app version, migration head, row counts and SHA-256 per
table, the transaction snapshot and the journal position), both sealed.
"""
from __future__ import annotations

import hashlib
import io
import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import metadata

from sqlalchemy.engine import Engine

from services.common.backup import journal
from services.common.backup.capture import Schema, copy_expert, q
from services.common.backup.store import REGENCY, BackupStore

log = logging.getLogger(__name__)
FORMAT = 1
PARALLEL = 8


def app_version() -> str:
    try:
        return metadata.version("desa-digital")
    except metadata.PackageNotFoundError:
        return "unknown"


def _copy_out(cursor, sql: str, params: dict) -> bytes:
    buffer = io.BytesIO()
    copy_expert(cursor, cursor.mogrify(sql, params).decode(), buffer)
    return buffer.getvalue()


def take(service: str, engine: Engine, store: BackupStore, scopes: list[str] | None = None,
         progress=None) -> list[dict]:
    """Snapshot `scopes` of `service` (None: every village with rows, and the regency scope).
    Returns the manifests written."""
    # Listed before the transaction starts: every change in a segment listed now committed
    # before it, so `journal_seq` never hides a change the snapshot does not hold.
    listing = journal.list_service(store, service)
    schema = Schema.load(engine)
    raw = engine.raw_connection()
    try:
        dbapi = raw.dbapi_connection
        dbapi.rollback()
        dbapi.autocommit = True
        cursor = dbapi.cursor()
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute("SELECT pg_current_snapshot()::text, now(), "
                       "(SELECT version_num FROM alembic_version LIMIT 1)")
        pg_snapshot, taken_at, head = cursor.fetchone()
        chunks: dict[str, dict[str, list[bytes]]] = defaultdict(lambda: defaultdict(list))
        wanted = tuple(scopes) if scopes else None
        for info in schema:
            columns = ", ".join(f"t.{q(c)}" for c in info.columns)
            scope_col = schema.scope_column(info.name)
            where = f"WHERE {scope_col} IN %(scopes)s" if wanted else ""
            text = _copy_out(cursor, f"COPY (SELECT {scope_col}, {columns} FROM {q(info.name)} t "
                             f"{where}) TO STDOUT", {"scopes": wanted})
            for line in text.split(b"\n")[:-1]:
                scope, _, rest = line.partition(b"\t")
                chunks[scope.decode()][info.name].append(rest + b"\n")
        cursor.execute("COMMIT")
        dbapi.autocommit = False
    finally:
        raw.close()
    chosen = list(wanted) if wanted else sorted(set(chunks) | {REGENCY})
    stamp = datetime.now(UTC).strftime(journal.STAMP)

    def write(scope: str) -> dict:
        tables, parts, offset = {}, [], 0
        for info in schema:
            body = b"".join(chunks.get(scope, {}).get(info.name, []))
            tables[info.name] = {"columns": info.columns, "rows": body.count(b"\n"),
                                 "sha256": hashlib.sha256(body).hexdigest(),
                                 "offset": offset, "length": len(body)}
            parts.append(body)
            offset += len(body)
        data = b"".join(parts)
        prefix = journal.snapshot_prefix(service, scope, stamp)
        store.put(prefix + "data", data)
        manifest = {
            "format": FORMAT, "service": service, "scope": scope, "stamp": stamp,
            "app_version": app_version(), "migration_head": head,
            "taken_at": taken_at.isoformat(), "pg_snapshot": pg_snapshot,
            "journal_seq": listing[scope].last_seq if scope in listing else 0,
            "data_sha256": hashlib.sha256(data).hexdigest(), "tables": tables,
        }
        store.put_json(prefix + "manifest", manifest)
        if progress is not None:
            progress(1)
        return manifest

    with ThreadPoolExecutor(PARALLEL) as pool:
        manifests = list(pool.map(write, chosen))
    log.info("snapshot written", extra={"backup_service": service, "scopes": len(manifests)})
    return manifests


def scopes_in(engine: Engine) -> list[str]:
    """Every village that has rows in a table of its own (and the regency scope)."""
    schema = Schema.load(engine)
    found = {REGENCY}
    with engine.connect() as conn:
        for info in schema:
            if info.village_column:
                found.update(v for v in conn.exec_driver_sql(
                    f"SELECT DISTINCT {q(info.village_column)} FROM {q(info.name)}").scalars()
                    if v)
    return sorted(found)


def take_all(service: str, engine: Engine, store: BackupStore, batch: int = 20) -> int:
    """Snapshot every village of `service`, `batch` villages per transaction (bounded memory)."""
    scopes = scopes_in(engine)
    for start in range(0, len(scopes), batch):
        take(service, engine, store, scopes[start:start + batch])
    return len(scopes)
