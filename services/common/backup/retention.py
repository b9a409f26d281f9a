"""Retention: which snapshots to keep (7 daily, 4 weekly, 12 monthly by default) and the journal
segments no kept snapshot needs any more. The newest snapshot and every segment after the oldest
kept snapshot are never deleted, so the newest restore point (and every kept one) stays whole."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from services.common.backup import journal
from services.common.backup.store import BackupStore

log = logging.getLogger(__name__)
POLICY = {"daily": 7, "weekly": 4, "monthly": 12}


def keep(stamps: list[str], policy: dict[str, int] = POLICY) -> set[str]:
    """The stamps to keep: the newest of each of the last N days, weeks and months."""
    ordered = sorted(stamps, reverse=True)
    kept = set(ordered[:1])
    periods = {"daily": lambda t: t.date(), "weekly": lambda t: t.isocalendar()[:2],
               "monthly": lambda t: (t.year, t.month)}
    for name, period in periods.items():
        seen: list = []
        for stamp in ordered:
            bucket = period(journal.stamp_time(stamp))
            if bucket not in seen:
                seen.append(bucket)
                if len(seen) > policy.get(name, 0):
                    break
                kept.add(stamp)
    return kept


def prune(store: BackupStore, service: str, policy: dict[str, int] = POLICY,
          now: datetime | None = None) -> dict[str, int]:
    """Delete the snapshots the policy does not keep and the journal they alone needed."""
    now = now or datetime.now(UTC)
    removed = {"snapshots": 0, "segments": 0}
    for scope, listing in journal.list_service(store, service).items():
        complete = listing.complete_snapshots()
        if not complete:
            continue
        kept = keep(complete, policy)
        for stamp, parts in listing.snapshots.items():
            unfinished = stamp not in complete and \
                journal.stamp_time(stamp) < now - timedelta(days=1)
            if (stamp in complete and stamp not in kept) or unfinished:
                for part in parts:
                    store.remove(journal.snapshot_prefix(service, scope, stamp) + part)
                removed["snapshots"] += 1
        oldest = min(kept)
        manifest = store.get_json(journal.snapshot_prefix(service, scope, oldest) + "manifest")
        for seq, item in listing.segments.items():
            if seq <= manifest["journal_seq"]:
                store.remove(item.name)
                removed["segments"] += 1
    if any(removed.values()):
        log.info("backup retention applied", extra={"backup_service": service, **removed})
    return removed
