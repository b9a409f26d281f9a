"""Letters issued end to end per second, beside the bare PDF render rate of the same run.

Not a pass/fail test: `main()` prints a table. It starts its own infrastructure (databases,
vhost, SeaweedFS), two letters service processes and the relay, as production runs them, and
feeds the resident read model directly (as registry events would). End to end means request ->
check -> sign, where signing numbers the letter, renders its PDF and stores it in object storage.
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

LETTERS = int(os.environ.get("BENCH_LETTERS", "200"))
SEQUENTIAL = int(os.environ.get("BENCH_LETTERS_SEQUENTIAL", "30"))
RENDERS = int(os.environ.get("BENCH_LETTERS_RENDERS", "100"))
PROCESSES = int(os.environ.get("BENCH_LETTERS_PROCESSES", "2"))
ROOT = Path(__file__).resolve().parents[2]


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bare_render_seconds(count: int) -> tuple[float, float]:
    """Render the same domisili letter `count` times in this process (no I/O): wall seconds
    and CPU seconds."""
    from services.letters.pdf import render_letter
    from tests.unit.letters.samples import sample_content

    content = sample_content()
    url = "http://127.0.0.1:8000/api/v1/verify/" + "A" * 108
    render_letter(content, url)  # warm up fonts and imports
    cpu = time.process_time()
    wall = _timed(lambda: [render_letter(content, url) for _ in range(count)])
    return wall, time.process_time() - cpu


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_backends(url: str) -> dict[int, str]:
    """The server processes of this run's databases, by pid: what each serves (its
    application_name, else its database)."""
    import sqlalchemy as sa

    from services.common.db import make_engine

    engine = make_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT pid, datname FROM pg_stat_activity WHERE datname LIKE :pattern"
                " AND pid <> pg_backend_pid()"),
                {"pattern": url.rsplit("/", 1)[1].rsplit("_", 1)[0] + "_%"}).all()
    finally:
        if engine is not None:
            engine.dispose()
    return {pid: datname for pid, datname in rows}


class CpuAccount:
    """CPU seconds spent by each component of the run between `start` and `stop`: this
    process (the caller), each service process and the relay, SeaweedFS, and the PostgreSQL
    backends serving this run's databases (found in pg_stat_activity; a backend that exits
    before `stop` is missed, so PostgreSQL is a lower bound). The broker is shared with other
    runs on the machine and cannot be told apart: not counted."""

    def __init__(self, pids: dict[str, int | None], database_url: str):
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.database_url = database_url

    def _sample(self) -> dict[tuple[str, int], float]:
        pids = {(name, pid) for name, pid in self.pids.items()}
        pids |= {("postgresql", pid) for pid in postgres_backends(self.database_url)}
        taken = {key: cpu_seconds(key[1]) for key in pids}
        taken[("caller", os.getpid())] = time.process_time()
        return {key: value for key, value in taken.items() if value is not None}

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> dict[str, float]:
        after = self._sample()
        totals: dict[str, float] = {}
        for key, value in after.items():
            group = "letters processes" if key[0].startswith("letters-") else key[0]
            totals[group] = totals.get(group, 0.0) + value - self.before.get(key, 0.0)
        return totals


def main() -> None:
    from nameko.standalone.rpc import ClusterRpcProxy
    from sqlalchemy.orm import Session

    from deploy.local.processes import ProcessGroup, relay_command, service_command, wait_until
    from services.common import migrations
    from services.common.config import get_settings, reset_settings
    from services.common.db import make_engine
    from services.common.objectstore import documents_store
    from services.common.service import unit_of_work
    from services.common.topology import declare_topology
    from services.letters import tokens
    from services.letters.app import readmodels
    from tests.bench import summary
    from tests.integration.letters.conftest import actor, resident_payload, village_payload
    from tests.support.infrastructure import Infrastructure

    logging.getLogger("amqp").setLevel(logging.ERROR)
    infra = Infrastructure().start()
    os.environ["DESA_LETTER_SIGNING_KEY"] = tokens.new_signing_key()
    reset_settings()
    workdir = Path(tempfile.mkdtemp(prefix="bench-letters-"))
    group = ProcessGroup(workdir / "run", workdir / "log", env={**os.environ}, cwd=ROOT)
    names = [f"letters-{i}" for i in range(1, PROCESSES + 1)] + ["relay"]
    engine = None
    try:
        migrations.upgrade("letters")
        declare_topology()
        documents_store().ensure_bucket()
        code = "36.04.05.2001"
        engine = make_engine(get_settings().database_url("letters"), pool_size=2)
        with Session(engine) as session, unit_of_work(session):
            readmodels.apply_village(session, village_payload(code, name="Kramatwatu"))
            nik = resident_payload(code)["nik"]
            readmodels.apply_resident(session, resident_payload(code, nik=nik))
        for name in names[:-1]:
            group.start(name, service_command("letters"))
        group.start("relay", relay_command())

        with ClusterRpcProxy(get_settings().nameko_config(), timeout=120) as rpc:
            wait_until(lambda: _pings(rpc), 60, "letters service")
            time.sleep(2)  # let the service processes finish starting: they share the cores
            render_seconds, render_cpu = bare_render_seconds(RENDERS)
            letters = rpc.letters
            body = {"type_code": "domisili", "subject_nik": nik, "purpose": "Melamar kerja"}
            officer, head = actor("officer", code), actor("head", code)

            def one_letter() -> dict:
                letter = letters.request_letter(body, code, officer)
                letters.check_letter(letter["id"], code, officer)
                return letters.sign_letter(letter["id"], code, head)

            one_letter()  # warm up every worker path
            sequential_seconds = _timed(lambda: [one_letter() for _ in range(SEQUENTIAL)])

            def concurrent_letters() -> None:
                requested = [r.result() for r in [
                    letters.request_letter.call_async(body, code, officer)
                    for _ in range(LETTERS)]]
                for reply in [letters.check_letter.call_async(item["id"], code, officer)
                              for item in requested]:
                    reply.result()
                signed = [reply.result() for reply in [
                    letters.sign_letter.call_async(item["id"], code, head)
                    for item in requested]]
                not_issued = [s for s in signed if s["status"] != "issued"]
                if not_issued:
                    raise RuntimeError(f"{len(not_issued)} letters were not issued")

            account = CpuAccount({**{name: group.pid(name) for name in names},
                                  "seaweedfs": infra.weed_pid},
                                 get_settings().database_url("letters"))
            account.start()
            concurrent_seconds = _timed(concurrent_letters)
            wait_until(lambda: _outbox_sent(engine), 30, "the relay to publish every event")
            cpu = account.stop()

        rows = [
            ("bare PDF render (one process, no I/O)", RENDERS, render_seconds),
            ("end to end, one letter at a time", SEQUENTIAL, sequential_seconds),
            (f"end to end, {LETTERS} in flight, {PROCESSES} service processes", LETTERS,
             concurrent_seconds),
        ]
        render_rate = RENDERS / render_seconds
        print(f"Letters on this machine ({os.cpu_count()} cores): request -> check -> sign "
              f"(number, PDF, object storage)")
        print(f"{'measure':<58} {'letters':>7} {'seconds':>8} {'per s':>8} {'x render':>9}")
        for label, count, seconds in rows:
            rate = count / seconds
            print(f"{label:<58} {count:>7} {seconds:>8.2f} {rate:>8.1f} "
                  f"{rate / render_rate:>9.2f}")
        render_ms = 1000 * render_cpu / RENDERS
        print(f"CPU per letter while {LETTERS} were in flight (and the relay published their "
              f"events), in bare renders ({render_ms:.1f} ms CPU each):")
        for name, seconds in sorted(cpu.items(), key=lambda item: -item[1]):
            per_letter = 1000 * seconds / LETTERS
            print(f"  {name:<26} {seconds:7.2f} s {per_letter:7.1f} ms "
                  f"{per_letter / render_ms:6.2f}")
        total = 1000 * sum(cpu.values()) / LETTERS
        print(f"  {'total (broker not counted)':<26} {total * LETTERS / 1000:7.2f} s "
              f"{total:7.1f} ms {total / render_ms:6.2f}")
        summary.record(summary.ratio_at_least(
            f"letters end to end, {LETTERS} in flight, {PROCESSES} service processes",
            LETTERS / concurrent_seconds, "letters/s", 0.80, baseline=render_rate,
            baseline_label="bare PDF render"))
    finally:
        if engine is not None:
            engine.dispose()
        group.stop_all(names)
        infra.stop()
        os.environ.pop("DESA_LETTER_SIGNING_KEY", None)
        reset_settings()


def _outbox_sent(engine) -> bool:
    import sqlalchemy as sa

    from services.common.tables import outbox

    with engine.connect() as conn:
        return not conn.scalar(sa.select(sa.func.count()).select_from(outbox)
                               .where(outbox.c.sent_at.is_(None)))


def _pings(rpc) -> bool:
    try:
        rpc.letters.ping()
        return True
    except Exception:  # noqa: BLE001 - not consuming yet
        return False


if __name__ == "__main__":
    main()
