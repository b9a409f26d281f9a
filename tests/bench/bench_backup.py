"""Backup and restore: RPO under a steady write load, and RTO of one village at the issue's size.

Not a pass/fail test: `main()` prints a table. It starts its own infrastructure and a second
SeaweedFS as the off-site backup store.
- RPO: a steady stream of registry registrations (BENCH_BACKUP_RATE per second for
  BENCH_BACKUP_SECONDS) while the shipper runs as in production; for every change, the time from
  its capture (in the committing transaction) to the moment its segment was safely stored.
- RTO: one village of BENCH_BACKUP_RESIDENTS residents, BENCH_BACKUP_FAMILIES family cards and
  BENCH_BACKUP_LETTERS issued letters with their PDFs (and a finance row), written
  straight into the databases, shipped and snapshotted; then every database and the primary
  bucket are dropped and `restore --village` runs onto the empty machine. Beside it, in the same
  run, a plain download (same parallelism, no decryption, no database) of the same backup
  objects: the restore should take at most twice as long. BENCH_BACKUP_PROFILE=1 prints a
  pyinstrument profile of the restore.
  Beside the seconds, the CPU seconds each of them cost this process and each object store
  (Linux /proc): on a shared machine the wall-clock ratio moves with the other processes' load,
  the CPU ratio much less, and it tells whether the restore waits or works.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

RESIDENTS = int(os.environ.get("BENCH_BACKUP_RESIDENTS", "5000"))
FAMILIES = int(os.environ.get("BENCH_BACKUP_FAMILIES", "1500"))
LETTERS = int(os.environ.get("BENCH_BACKUP_LETTERS", "3000"))
PDF_BYTES = int(os.environ.get("BENCH_BACKUP_PDF_BYTES", "24000"))
RATE = float(os.environ.get("BENCH_BACKUP_RATE", "20"))
SECONDS = float(os.environ.get("BENCH_BACKUP_SECONDS", "30"))
VILLAGE = "36.04.05.2001"
WRITER_VILLAGE = "36.04.14.2001"


def _fill(engines: dict, documents) -> int:
    """The village's rows, written in bulk; returns the PDF bytes stored."""
    import sqlalchemy as sa

    with engines["registry"].begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO residents (nik, has_nik, village_code, name, sex, birth_place, "
            "birth_date, religion, marital_status, occupation, dusun, rw, rt) "
            "SELECT '3604051208' || lpad(g::text, 6, '0'), true, :v, 'Warga ' || g, "
            "CASE WHEN g % 2 = 0 THEN 'L' ELSE 'P' END, 'Serang', "
            "date '1950-01-01' + (g % 20000), 'Islam', 'Kawin', 'Petani', 'Krajan', '001', "
            "'002' FROM generate_series(1, :n) g"), {"v": VILLAGE, "n": RESIDENTS})
        conn.execute(sa.text(
            "INSERT INTO families (number, village_code, head_id, dusun, rw, rt) "
            "SELECT '360405010115' || lpad(g::text, 4, '0'), :v, "
            "(SELECT id FROM residents WHERE nik = '3604051208' || lpad(g::text, 6, '0')), "
            "'Krajan', '001', '002' FROM generate_series(1, :n) g"),
            {"v": VILLAGE, "n": FAMILIES})
        conn.execute(sa.text(
            "INSERT INTO family_memberships (family_id, resident_id, relationship, valid_from) "
            "SELECT f.id, r.id, CASE WHEN r.id = f.head_id THEN 1 ELSE 4 END, date '2015-01-01'"
            " FROM residents r JOIN families f ON f.id = (SELECT min(id) FROM families) "
            "+ (r.id % :n) WHERE r.village_code = :v"), {"v": VILLAGE, "n": FAMILIES})
    rows = []
    with ThreadPoolExecutor(8) as pool:
        def put(n: int) -> dict:
            data = b"%PDF-1.7\n" + os.urandom(PDF_BYTES)
            key = f"{VILLAGE}/letters/pdf/bench-{n:06d}"
            documents.put_bytes(key, data, "application/pdf")
            return {"n": n, "key": key, "sha": hashlib.sha256(data).hexdigest(),
                    "size": len(data)}
        rows = list(pool.map(put, range(LETTERS)))
    with engines["letters"].begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO letters (id, village_code, type_code, classification_code, status, "
            "subject_nik, subject_name, fields, requested_by, requested_at, number, "
            "signed_at, issued_at, content, content_sha256, pdf_key, pdf_size, pdf_sha256, "
            "updated_at) VALUES (gen_random_uuid(), :v, 'domisili', '474', 'issued', "
            "'3604051208' || lpad(CAST(:n AS text), 6, '0'), 'Warga', '{}', "
            "'{\"role\": \"officer\"}', now(), :number, now(), now(), '{\"body\": \"x\"}', "
            ":sha, :key, :size, :sha, now())"),
            [{"v": VILLAGE, "n": r["n"] % RESIDENTS + 1, "number": f"474/{r['n']}/2026",
              "sha": r["sha"], "key": r["key"], "size": r["size"]} for r in rows])
    with engines["finance"].begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO counters (village_code, year, series, value) VALUES (:v, 2025, 'X', 0)"),
            {"v": VILLAGE})
    return sum(r["size"] for r in rows)


def _ship_all(services, engines, store, documents) -> None:
    from services.common.backup.shipper import Shipper

    for name in services:
        shipper = Shipper(name, engine=engines[name], store=store, documents=documents)
        while shipper.ship_once():
            pass
        shipper.pool.shutdown()


def _rpo(engines, store, documents) -> list[float]:
    import sqlalchemy as sa

    from services.common.backup.shipper import Shipper, run_shipper
    from services.common.db import session_scope
    from services.common.outbox import Outbox
    from services.registry.app import residents
    from tests.support.fakes import fake_nik

    latencies: list[float] = []

    def shipped(rows, finished):
        latencies.extend(finished - row.at.timestamp() for row in rows)

    stop = threading.Event()
    shipper = Shipper("registry", engine=engines["registry"], store=store, documents=documents,
                      on_shipped=shipped)
    thread = threading.Thread(target=run_shipper, args=(shipper, stop, 0.5, 0))
    thread.start()
    officer = {"role": "officer", "village_code": WRITER_VILLAGE, "username": "bench",
               "nik": None}
    began = time.monotonic()
    n = 0
    while time.monotonic() - began < SECONDS:
        born = date(1960, 1, 1 + n % 28)
        with session_scope(engines["registry"]) as session:
            residents.register_resident(session, Outbox("registry"), WRITER_VILLAGE, {
                "nik": fake_nik(born, "L", "360414"), "name": "Warga Baru", "sex": "L",
                "birth_place": "Serang", "birth_date": born.isoformat(), "religion": "Islam",
                "marital_status": "Kawin"}, officer)
        n += 1
        time.sleep(max(0.0, began + n / RATE - time.monotonic()))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engines["registry"].connect() as conn:
            if not conn.scalar(sa.text("SELECT count(*) FROM backup_changes")):
                break
        time.sleep(0.2)
    stop.set()
    thread.join()
    return latencies


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) so far of this process (every thread) and of `pids`."""
    tick = os.sysconf("SC_CLK_TCK")
    times = os.times()
    spent = {"python": times.user + times.system}
    for name, pid in pids.items():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        spent[name] = (int(fields[11]) + int(fields[12])) / tick
    return spent


def _cpu_since(before: dict[str, float], pids: dict[str, int]) -> dict[str, float]:
    return {name: value - before[name] for name, value in _cpu(pids).items()}


def _plain_download(store, names: list[str]) -> tuple[float, int]:
    began = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        size = sum(pool.map(lambda name: len(store.get_raw(name)), names))
    return time.perf_counter() - began, size


def main() -> None:
    import sqlalchemy as sa

    from deploy.local import seaweed
    from services.common import migrations
    from services.common.backup import journal, snapshot
    from services.common.backup.crypto import new_key_entry
    from services.common.backup.operations import restore
    from services.common.backup.store import BackupStore
    from services.common.config import get_settings, reset_settings
    from services.common.db import drop_database, make_engine, session_scope
    from services.common.objectstore import documents_store
    from services.common.outbox import Outbox
    from services.common.topology import service_classes
    from services.registry.seed import seed_villages
    from tests.support.infrastructure import Infrastructure

    logging.getLogger().setLevel(logging.WARNING)
    infra = Infrastructure().start()
    workdir = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    ports = seaweed.SeaweedPorts.random()
    weed = seaweed.start(workdir / "weed", ports, "bench", "bench-secret-0123456789",
                         workdir / "weed.log")
    os.environ.update({"DESA_BACKUP_S3_ENDPOINT": f"127.0.0.1:{ports.s3}",
                       "DESA_BACKUP_S3_ACCESS_KEY": "bench",
                       "DESA_BACKUP_S3_SECRET_KEY": "bench-secret-0123456789",
                       "DESA_BACKUP_BUCKET": "bench-backup",
                       "DESA_BACKUP_KEYS": new_key_entry("bench")})
    reset_settings()
    services = [cls.name for cls in service_classes()]
    engines = {}
    try:
        seaweed.wait_ready(f"127.0.0.1:{ports.s3}", "bench", "bench-secret-0123456789",
                           process=weed)
        for name in services:
            migrations.upgrade(name)
            engines[name] = make_engine(get_settings().database_url(name), pool_size=4)
        store = BackupStore.from_settings()
        store.ensure_bucket()
        documents = documents_store()
        documents.ensure_bucket()
        with session_scope(engines["registry"]) as session:
            seed_villages(session, Outbox("registry"))
        _ship_all(services, engines, store, documents)

        latencies = sorted(_rpo(engines, store, documents))
        p50 = statistics.median(latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"RPO under {RATE:.0f} registrations/s for {SECONDS:.0f} s: "
              f"{len(latencies)} changes, p50 {p50:.2f} s, p99 {p99:.2f} s, "
              f"max {latencies[-1]:.2f} s (goal p99 <= 10 s)", flush=True)

        pdf_bytes = _fill(engines, documents)
        began = time.perf_counter()
        _ship_all(services, engines, store, documents)
        ship_seconds = time.perf_counter() - began
        began = time.perf_counter()
        for name in services:
            snapshot.take(name, engines[name], store, [VILLAGE])
        snapshot_seconds = time.perf_counter() - began
        names = []
        for name in services:
            listing = journal.list_service(store, name).get(VILLAGE)
            if listing is None:
                continue
            stamp = listing.complete_snapshots()[-1]
            prefix = journal.snapshot_prefix(name, VILLAGE, stamp)
            manifest = store.get_json(prefix + "manifest")
            names += [prefix + "manifest", prefix + "data"]
            names += [item.name for seq, item in listing.segments.items()
                      if seq > manifest["journal_seq"]]
        names += [item.name for item in store.list(f"documents/{VILLAGE}/")]

        for engine in engines.values():
            engine.dispose()
        for name in services:
            drop_database(get_settings().database_url(name))
        for obj in documents.client.list_objects(documents.bucket, recursive=True):
            documents.client.remove_object(documents.bucket, obj.object_name)

        pids = {"backup store": weed.pid, "primary store": infra.weed_pid}
        cpu_began = _cpu(pids)
        download_seconds, download_bytes = _plain_download(store, names)
        download_cpu = _cpu_since(cpu_began, pids)
        load_before = os.getloadavg()[0]
        profiler = None
        if os.environ.get("BENCH_BACKUP_PROFILE"):
            from pyinstrument import Profiler
            profiler = Profiler(async_mode="disabled")
            profiler.start()
        cpu_began = _cpu(pids)
        began = time.perf_counter()
        reports = restore(services, [VILLAGE])
        restore_seconds = time.perf_counter() - began
        restore_cpu = _cpu_since(cpu_began, pids)
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(show_all=False, timeline=False), flush=True)
        rows = sum(sum(r.rows.values()) for r in reports)
        docs = sum(r.documents for r in reports)
        check = make_engine(get_settings().database_url("registry"), poolclass=sa.pool.NullPool)
        with check.connect() as conn:
            restored = conn.scalar(sa.text("SELECT count(*) FROM residents WHERE village_code "
                                           "= :v"), {"v": VILLAGE})
        check.dispose()
        print(f"village of {RESIDENTS} residents, {FAMILIES} families, {LETTERS} letters with "
              f"PDFs ({pdf_bytes / 1e6:.1f} MB):")
        print(f"  shipping it (rows and PDFs) to the backup store: {ship_seconds:.1f} s; "
              f"snapshot of every service: {snapshot_seconds:.1f} s")
        print("| step | seconds | MB |")
        print("|---|---:|---:|")
        print(f"| plain download of the same backup objects | {download_seconds:.1f} | "
              f"{download_bytes / 1e6:.1f} |")
        print(f"| `restore --village` onto empty databases and bucket | {restore_seconds:.1f} | "
              f"{download_bytes / 1e6:.1f} |")
        for report in reports:
            print(f"  {report.service}: fetch, check, load and commit {report.seconds:.1f} s, "
                  f"of which {report.documents} documents put back "
                  f"{report.document_seconds:.1f} s")
        print(f"  the services run in parallel; migrations before them, republish and a new "
              f"snapshot after: {restore_seconds - max(r.seconds for r in reports):.1f} s")
        print(f"restore / download = {restore_seconds / download_seconds:.2f} (goal <= 2); "
              f"{rows} rows, {docs} documents verified, {restored} residents back", flush=True)
        for label, spent in (("download", download_cpu), ("restore", restore_cpu)):
            print(f"  CPU seconds of the {label}: " + ", ".join(
                f"{name} {value:.2f}" for name, value in spent.items()) +
                f" (total {sum(spent.values()):.2f}; PostgreSQL not counted)")
        print(f"  CPU restore / download = "
              f"{sum(restore_cpu.values()) / sum(download_cpu.values()):.2f}; load average "
              f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after", flush=True)
    finally:
        for engine in engines.values():
            engine.dispose()
        weed.terminate()
        try:
            weed.wait(timeout=5)
        except Exception:  # noqa: BLE001
            weed.kill()
        shutil.rmtree(workdir, ignore_errors=True)
        infra.stop()


if __name__ == "__main__":
    main()
