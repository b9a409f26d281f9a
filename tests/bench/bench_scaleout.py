"""One service as 1, 2 and 3 processes under the same load: throughput, CPU, nothing twice.

Not a pass/fail test: `main()` prints a table. It starts its own infrastructure and registry's
relay (as bench_events does); then, for each process count, starts that many letters processes
(they share the queues, as a scaled-out deployment does), records a burst of
BENCH_SCALEOUT_EVENTS `resident.registered` events in one commit and times until letters' read
model holds every one. Each letters process logs one line per event it takes off a queue
("event applied", or "event already applied" for a redelivery): the lines are counted, so a
message handled twice, or by nobody, shows. CPU is the processes' own (user + system) seconds
over the burst, from /proc.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

EVENTS = int(os.environ.get("BENCH_SCALEOUT_EVENTS", "3000"))
COUNTS = tuple(int(n) for n in os.environ.get("BENCH_SCALEOUT_PROCESSES", "1,2,3").split(","))
ROOT = Path(__file__).resolve().parents[2]
HANDLER = "letters.on_resident_registered"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _handled(log_path: Path) -> tuple[int, int]:
    """(events applied, redeliveries) this process logged for the benchmark's handler."""
    applied = again = 0
    for line in log_path.read_text(errors="replace").splitlines():
        if HANDLER not in line:
            continue
        try:
            message = json.loads(line).get("message")
        except ValueError:
            continue
        applied += message == "event applied"
        again += message == "event already applied"
    return applied, again


def main() -> None:
    from nameko.standalone.rpc import ClusterRpcProxy

    from deploy.local.processes import ProcessGroup, service_command, wait_until
    from services.common import migrations
    from services.common.config import get_settings
    from services.common.db import make_engine
    from services.common.objectstore import documents_store
    from services.common.topology import declare_topology
    from tests.bench import summary
    from tests.bench.bench_events import _latencies, _record
    from tests.bench.bench_letters import _pings
    from tests.support.infrastructure import Infrastructure

    logging.getLogger("amqp").setLevel(logging.ERROR)
    infra = Infrastructure().start()
    group = ProcessGroup(infra.workdir / "run", infra.workdir / "log", env={**os.environ},
                         cwd=ROOT)
    registry = letters = None
    started: list[str] = []
    results = []
    try:
        migrations.upgrade("registry")
        migrations.upgrade("letters")
        declare_topology()
        documents_store().ensure_bucket()
        group.start("relay", [sys.executable, "-c",
                              "from tests.bench.bench_events import serve_relay; "
                              "serve_relay('0.2')"])
        started.append("relay")
        registry = make_engine(get_settings().database_url("registry"), pool_size=2)
        letters = make_engine(get_settings().database_url("letters"), pool_size=2)
        first = 0
        for count in COUNTS:
            names = [f"letters-{count}-{i}" for i in range(1, count + 1)]
            for name in names:
                group.start(name, service_command("letters"))
                started.append(name)
            with ClusterRpcProxy(get_settings().nameko_config(), timeout=60) as rpc:
                wait_until(lambda: _pings(rpc), 60, "letters service")
            time.sleep(3)  # every process consuming before the burst
            _record(registry, first, 20)  # warm up each process's connections
            _latencies(registry, letters, first, 20, 60)
            first += 20
            logged_before = [_handled(group.log_file(name)) for name in names]
            pids = [group.pid(name) for name in names]
            cpu_before = sum(_cpu_seconds(pid) for pid in pids)
            began = time.perf_counter()
            _record(registry, first, EVENTS)
            _latencies(registry, letters, first, EVENTS, 600)
            elapsed = time.perf_counter() - began
            cpu = sum(_cpu_seconds(pid) for pid in pids) - cpu_before
            time.sleep(1)  # the last log lines reach the files
            logged = [tuple(a - b for a, b in zip(_handled(group.log_file(name)), before,
                                                  strict=True))
                      for name, before in zip(names, logged_before, strict=True)]
            first += EVENTS
            results.append((count, elapsed, cpu, logged))
            group.stop_all(names)
            started = [name for name in started if name not in names]

        base = EVENTS / results[0][1]
        print(f"letters as 1..{COUNTS[-1]} processes on this machine ({os.cpu_count()} cores): "
              f"a burst of {EVENTS} resident.registered events each")
        print(f"{'processes':>9} {'seconds':>8} {'events/s':>9} {'x 1 proc':>9} "
              f"{'CPU cores':>10} {'applied':>8} {'again':>6}  per process")
        for count, elapsed, cpu, logged in results:
            applied = sum(a for a, _ in logged)
            again = sum(r for _, r in logged)
            rate = EVENTS / elapsed
            print(f"{count:>9} {elapsed:>8.2f} {rate:>9.0f} {rate / base:>9.2f} "
                  f"{cpu / elapsed:>10.2f} {applied:>8} {again:>6}  "
                  f"{', '.join(str(a) for a, _ in logged)}")
            summary.record(summary.info(f"letters as {count} process(es): events/s", rate,
                                        "events/s", baseline=base,
                                        baseline_label="1 process"))
            if applied != EVENTS or again:
                raise AssertionError(f"{count} processes: {applied} applied, {again} "
                                     f"redelivered, for {EVENTS} events")
    finally:
        for engine in (registry, letters):
            if engine is not None:
                engine.dispose()
        group.stop_all(started)
        infra.stop()


if __name__ == "__main__":
    main()
