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


def bare_render_seconds(count: int) -> float:
    """Render the same domisili letter `count` times in this process (no I/O)."""
    from services.letters.pdf import render_letter
    from tests.unit.letters.samples import sample_content

    content = sample_content()
    url = "http://127.0.0.1:8000/api/v1/verify/" + "A" * 108
    render_letter(content, url)  # warm up fonts and imports
    return _timed(lambda: [render_letter(content, url) for _ in range(count)])


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
        engine.dispose()
        for name in names[:-1]:
            group.start(name, service_command("letters"))
        group.start("relay", relay_command())

        with ClusterRpcProxy(get_settings().nameko_config(), timeout=120) as rpc:
            wait_until(lambda: _pings(rpc), 60, "letters service")
            time.sleep(2)  # let the service processes finish starting: they share the cores
            render_seconds = bare_render_seconds(RENDERS)
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

            concurrent_seconds = _timed(concurrent_letters)

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
        summary.record(summary.ratio_at_least(
            f"letters end to end, {LETTERS} in flight, {PROCESSES} service processes",
            LETTERS / concurrent_seconds, "letters/s", 0.80, baseline=render_rate,
            baseline_label="bare PDF render"))
    finally:
        group.stop_all(names)
        infra.stop()
        os.environ.pop("DESA_LETTER_SIGNING_KEY", None)
        reset_settings()


def _pings(rpc) -> bool:
    try:
        rpc.letters.ping()
        return True
    except Exception:  # noqa: BLE001 - not consuming yet
        return False


if __name__ == "__main__":
    main()
