"""`desa backup verify`: read every object of the backup store back and check it."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from services.common.backup import journal
from services.common.backup.crypto import BackupKeyError, CorruptObject
from services.common.backup.store import BackupStore, MissingObject

PARALLEL = 8


@dataclass
class VerifyReport:
    objects: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)


def _check(store: BackupStore, name: str) -> tuple[int, str | None]:
    try:
        if name.startswith("documents/"):
            data, _ = store.get_document(name[len("documents/"):])
            return len(data), None
        body = store.get(name)
        if name.endswith("/manifest"):
            manifest = json.loads(body)
            data_name = name[:-len("manifest")] + "data"
            data = store.get(data_name)
            if hashlib.sha256(data).hexdigest() != manifest["data_sha256"]:
                return len(body), f"{data_name}: does not match its manifest's SHA-256"
            for table, entry in manifest["tables"].items():
                part = data[entry["offset"]:entry["offset"] + entry["length"]]
                if hashlib.sha256(part).hexdigest() != entry["sha256"] or \
                        part.count(b"\n") != entry["rows"]:
                    return len(body), f"{data_name}: table {table} does not match its manifest"
        elif name.endswith(".seg"):
            json.loads(body)["changes"]  # noqa: B018 - must parse
        return len(body), None
    except MissingObject as exc:
        return 0, f"missing: {exc}"
    except (CorruptObject, BackupKeyError, ValueError, KeyError) as exc:
        return 0, f"corrupt: {exc}"


def verify(store: BackupStore, services: list[str],
           progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Every object decrypts and matches its checksums; no journal segment is missing; every
    snapshot has its data and matches its manifest."""
    report = VerifyReport()
    names = [item.name for item in store.list("")]
    for service in services:
        for scope, listing in journal.list_service(store, service).items():
            # Segments a kept snapshot holds may have been pruned; every later one must be there.
            complete = listing.complete_snapshots()
            first = 1
            if complete:
                try:
                    first = store.get_json(journal.snapshot_prefix(service, scope, complete[0])
                                           + "manifest")["journal_seq"] + 1
                except Exception:  # noqa: BLE001 - the manifest itself is reported below
                    first = min(listing.segments, default=1)
            gaps = sorted(set(range(first, listing.last_seq + 1)) - set(listing.segments))
            if gaps:
                report.problems.append(f"missing: journal of {service} village {scope}, "
                                       f"segment(s) {gaps[:10]}")
            for stamp, parts in listing.snapshots.items():
                if "manifest" in parts and "data" not in parts:
                    report.problems.append(f"missing: snapshot {service}/{scope}/{stamp} data")
    with ThreadPoolExecutor(PARALLEL) as pool:
        for size, problem in pool.map(lambda n: _check(store, n), names):
            report.objects += 1
            report.bytes += size
            if problem:
                report.problems.append(problem)
            if progress:
                progress(1)
    return report
