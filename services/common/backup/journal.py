"""Journal segments and snapshot listings as they lie in the backup store."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from services.common.backup.store import BackupStore, Listed

_SEGMENT = re.compile(r"^journal/(?P<service>[^/]+)/(?P<scope>[^/]+)/(?P<seq>\d{10})\.seg$")
_SNAPSHOT = re.compile(
    r"^snapshots/(?P<service>[^/]+)/(?P<scope>[^/]+)/(?P<stamp>\d{8}T\d{12}Z)/(?P<part>\w+)$")
STAMP = "%Y%m%dT%H%M%S%fZ"


@dataclass
class ScopeListing:
    segments: dict[int, Listed] = field(default_factory=dict)
    snapshots: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def complete_snapshots(self) -> list[str]:
        """Stamps of the snapshots whose manifest was written (oldest first)."""
        return sorted(s for s, parts in self.snapshots.items() if "manifest" in parts)

    @property
    def last_seq(self) -> int:
        return max(self.segments, default=0)


def snapshot_prefix(service: str, scope: str, stamp: str) -> str:
    return f"snapshots/{service}/{scope}/{stamp}/"


def stamp_time(stamp: str) -> datetime:
    from datetime import UTC
    return datetime.strptime(stamp, STAMP).replace(tzinfo=UTC)


def list_service(store: BackupStore, service: str) -> dict[str, ScopeListing]:
    """Every journal segment and snapshot part of `service`, by scope."""
    scopes: dict[str, ScopeListing] = defaultdict(ScopeListing)
    for prefix in (f"journal/{service}/", f"snapshots/{service}/"):
        for item in store.list(prefix):
            if m := _SEGMENT.match(item.name):
                scopes[m["scope"]].segments[int(m["seq"])] = item
            elif m := _SNAPSHOT.match(item.name):
                scopes[m["scope"]].snapshots[m["stamp"]].add(m["part"])
    return dict(scopes)


def visible_in(snapshot: str, xid: int) -> bool:
    """Whether transaction `xid` had committed for a `pg_current_snapshot()` text
    `xmin:xmax:xip,...` (only committed transactions reach the journal)."""
    xmin, xmax, xip = snapshot.split(":")
    if xid < int(xmin):
        return True
    if xid >= int(xmax):
        return False
    return str(xid) not in set(xip.split(",")) if xip else True
