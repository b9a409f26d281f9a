"""What the `desa backup` and `desa restore` commands do, across every service in SERVICES."""
from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import migrations
from services.common.backup import journal, snapshot
from services.common.backup.restore import ABORTED, Report, RestoreFailed, prepare_service
from services.common.backup.store import REGENCY, BackupStore
from services.common.config import get_settings
from services.common.db import make_engine
from services.common.objectstore import documents_store
from services.common.outbox import Outbox
from services.common.tables import backup_changes as _CHANGES


def _engine(service: str) -> sa.Engine:
    return make_engine(get_settings().database_url(service), poolclass=sa.pool.NullPool)


def take_snapshots(services: list[str], scopes: list[str] | None,
                   progress: Callable[[int], None] | None = None) -> dict[str, int]:
    store = BackupStore.from_settings()
    store.ensure_bucket()
    counts = {}
    for service in services:
        engine = _engine(service)
        try:
            if scopes:
                counts[service] = len(snapshot.take(service, engine, store, scopes, progress))
            else:
                counts[service] = snapshot.take_all(service, engine, store)
        finally:
            engine.dispose()
    return counts


def _republisher(service: str):
    try:
        return importlib.import_module(f"services.{service}.republish")
    except ModuleNotFoundError:
        return None


def _republish_in(service: str, scopes: list[str] | None):
    """Have `service` announce the restored villages' state again if it knows how
    (`services.<name>.republish`), so the read models other services keep from its events are
    rebuilt: run inside the restore's own transaction, so the events commit with it."""
    module = _republisher(service)
    if module is None:
        return None

    def run(conn: sa.Connection) -> None:
        villages = [None] if scopes is None else [s for s in scopes if s != REGENCY]
        with Session(bind=conn) as session:
            for village in villages:
                module.republish(session, Outbox(service), village)
            session.flush()

    return run


class PartlyRestored(Exception):
    """The commits of a restore stopped part way (the database went away between them): the
    services named in `committed` are restored, the others are as they were."""

    def __init__(self, committed: list[str], failed: str, cause: BaseException):
        self.committed = committed
        self.failed = failed
        super().__init__(
            f"{failed} could not commit ({cause}); restored: {', '.join(committed) or 'none'}; "
            f"not restored: {failed} and the services after it. Run the same restore again: "
            "it replaces the villages' rows, so the restored services come out the same")


def restore(services: list[str], scopes: list[str] | None, at: datetime | None = None,
            progress: Callable[[str, int], None] | None = None) -> list[Report]:
    """Restore `scopes` (None: everything) of `services` onto this machine's databases, which
    are created by migration if missing; then republish and snapshot the restored state.

    All or nothing across services: every service is restored in its own open transaction (in
    parallel: fetch and check, load, replay, documents put back), and only when every one of
    them got that far are they committed, one after the other. A missing or corrupt object, or
    any other failure, in any service rolls every service back (RestoreFailed names it). Only a
    failure of the commits themselves can leave some services restored (PartlyRestored names
    them): PostgreSQL's two-phase commit would close that gap but needs
    max_prepared_transactions, which a stock server does not set."""
    store = BackupStore.from_settings()
    documents = documents_store()
    documents.ensure_bucket()
    for service in services:
        migrations.upgrade(service)
    engines = {service: _engine(service) for service in services}
    try:
        prepared = _prepare_all(services, engines, store, documents, scopes, at, progress)
        committed: list[str] = []
        for service in services:
            try:
                prepared[service].commit()
            except Exception as exc:
                for later in services[services.index(service) + 1:]:
                    prepared[later].rollback()
                raise PartlyRestored(committed, service, exc) from exc
            committed.append(service)
        reports = [prepared[service].report for service in services]

        def settle(service: str, report: Report) -> None:
            engine = engines[service]
            # A new baseline: later changes are journaled after it, so a later restore never
            # replays history this restore rolled back (--at) or moved to another cluster.
            if scopes is None:
                snapshot.take_all(service, engine, store)
            elif report.scopes:
                snapshot.take(service, engine, store, scopes)

        with ThreadPoolExecutor(len(services)) as pool:
            for job in [pool.submit(settle, s, r) for s, r in zip(services, reports,
                                                                   strict=True)]:
                job.result()
        return reports
    finally:
        for engine in engines.values():
            engine.dispose()


def _prepare_all(services, engines, store, documents, scopes, at, progress) -> dict:
    """Every service prepared (see `restore`), or every one rolled back and the first failure
    (in the order of `services`) raised, naming its service."""
    abort = threading.Event()

    def prepare(service: str):
        try:
            return prepare_service(service, engines[service], store, documents, scopes, at,
                                   progress, abort, _republish_in(service, scopes))
        except BaseException:
            abort.set()
            raise

    with ThreadPoolExecutor(len(services)) as pool:
        jobs = {service: pool.submit(prepare, service) for service in services}
        outcomes = {}
        for service, job in jobs.items():
            try:
                outcomes[service] = job.result()
            except BaseException as exc:  # noqa: BLE001 - every other service is rolled back
                outcomes[service] = exc
    failures = [s for s in services if isinstance(outcomes[s], BaseException)]
    if not failures:
        return outcomes
    for service in services:
        if service not in failures:
            outcomes[service].rollback()
    # The real causes, not the services that stopped because another one failed.
    causes = [s for s in failures if not str(outcomes[s]).endswith(ABORTED)] or failures[:1]
    errors = [outcomes[s] for s in causes]
    if all(isinstance(error, RestoreFailed) for error in errors):
        raise RestoreFailed("; ".join(f"{s}: {outcomes[s]}" for s in causes)) from None
    raise next(error for error in errors if not isinstance(error, RestoreFailed))


@dataclass
class ScopeStatus:
    service: str
    scope: str
    unsent: int = 0
    oldest_unsent: datetime | None = None
    last_shipped: datetime | None = None
    last_snapshot: datetime | None = None


def status(services: list[str], village: str | None = None) -> tuple[list[ScopeStatus],
                                                                       dict[str, list[str]]]:
    """Per service and village: unsent changes and the oldest, last segment, last snapshot;
    and per service the tables no capture trigger watches."""
    from services.common.backup.capture import uncovered

    store = BackupStore.from_settings()
    rows: dict[tuple[str, str], ScopeStatus] = {}
    gaps = {}
    for service in services:
        engine = _engine(service)
        try:
            with engine.connect() as conn:
                query = sa.select(_CHANGES.c.village, sa.func.count(), sa.func.min(_CHANGES.c.at)) \
                    .group_by(_CHANGES.c.village)
                if village:
                    query = query.where(_CHANGES.c.village == village)
                for scope, count, oldest in conn.execute(query):
                    rows[service, scope] = ScopeStatus(service, scope, count, oldest)
                gaps[service] = uncovered(conn)
        finally:
            engine.dispose()
        for scope, listing in journal.list_service(store, service).items():
            if village and scope != village:
                continue
            entry = rows.setdefault((service, scope), ScopeStatus(service, scope))
            if listing.segments:
                entry.last_shipped = listing.segments[listing.last_seq].modified
            complete = listing.complete_snapshots()
            if complete:
                entry.last_snapshot = journal.stamp_time(complete[-1])
    return sorted(rows.values(), key=lambda s: (s.service, s.scope)), gaps


def age(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    seconds = (datetime.now(UTC) - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{max(seconds, 0):.1f}s"
