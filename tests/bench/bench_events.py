"""Event propagation: registry commits an event -> letters' resident read model holds it.

Not a pass/fail test: `main()` prints a table. It starts its own infrastructure, a letters
service process (the real consumer: inbox + read model upsert) and registry's relay in a process
of its own, as production runs them. It then records `resident.registered` events in registry's
outbox: a steady stream (one event per transaction, at BENCH_EVENTS_RATE per second) and a burst
(BENCH_EVENTS_BURST events in one transaction, as a CSV import records them). Each event's
latency is the read model row's `received_at` (the consumer's transaction) minus the outbox row's
`created_at` (the producer's transaction), both from the one PostgreSQL server's clock.
"""
from __future__ import annotations

import logging
import os
import statistics
import sys
import time
from pathlib import Path

RATE = float(os.environ.get("BENCH_EVENTS_RATE", "200"))
STEADY_SECONDS = float(os.environ.get("BENCH_EVENTS_SECONDS", "10"))
BURST = int(os.environ.get("BENCH_EVENTS_BURST", "10000"))
CODE = "36.04.05.2001"
ROOT = Path(__file__).resolve().parents[2]


def serve_relay(poll_seconds: str) -> None:
    """Entry of the relay process: registry's relay only (the bench migrates no other service)."""
    import signal
    import threading

    from services.common.logs import configure_logging
    from services.common.relay import Relay

    configure_logging("WARNING", service="relay")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    Relay("registry").run(stop, float(poll_seconds))


def _payload(seq: int) -> dict:
    from tests.integration.letters.conftest import resident_payload

    return resident_payload(CODE, nik=f"3604059{seq:09d}", name=f"Warga Contoh {seq}")


def _record(engine, first: int, count: int) -> None:
    from sqlalchemy.orm import Session

    from services.common.outbox import Outbox

    with Session(engine) as session:
        Outbox("registry").record_many(session, [
            {"type": "resident.registered", "village_code": CODE,
             "aggregate_id": f"3604059{seq:09d}", "payload": _payload(seq)}
            for seq in range(first, first + count)])
        session.commit()


def _latencies(registry, letters, first: int, count: int, timeout: float,
               relay_ms: list[float] | None = None) -> list[float]:
    """Milliseconds from each event's commit to its read model row, once all have arrived;
    with `relay_ms`, also from its commit to the relay marking it sent (appended there)."""
    import sqlalchemy as sa

    niks = [f"3604059{seq:09d}" for seq in range(first, first + count)]
    deadline = time.monotonic() + timeout
    query = sa.text("SELECT nik, received_at FROM residents WHERE nik = ANY(:niks)")
    while True:
        with letters.connect() as conn:
            received = dict(conn.execute(query, {"niks": niks}).all())
        if len(received) == count:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count - len(received)} of {count} events not applied "
                               f"within {timeout:.0f} s")
        time.sleep(0.1)
    with registry.connect() as conn:
        stamps = {nik: (created, sent) for nik, created, sent in conn.execute(sa.text(
            "SELECT aggregate_id, created_at, sent_at FROM outbox "
            "WHERE aggregate_id = ANY(:niks)"), {"niks": niks}).all()}
    if relay_ms is not None:  # the relay's part: committed -> confirmed by the broker
        relay_ms += [(stamps[nik][1] - stamps[nik][0]).total_seconds() * 1000 for nik in niks]
    return [(received[nik] - stamps[nik][0]).total_seconds() * 1000 for nik in niks]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    from nameko.standalone.rpc import ClusterRpcProxy

    from deploy.local.processes import ProcessGroup, service_command, wait_until
    from services.common import migrations
    from services.common.config import get_settings
    from services.common.db import make_engine
    from services.common.objectstore import documents_store
    from services.common.topology import declare_topology
    from tests.bench import summary
    from tests.bench.bench_letters import _pings
    from tests.support.infrastructure import Infrastructure

    logging.getLogger("amqp").setLevel(logging.ERROR)
    infra = Infrastructure().start()
    # The production poll interval, not the test suite's faster one: a commit wakes the relay.
    poll = os.environ.get("BENCH_EVENTS_RELAY_POLL", "0.2")
    group = ProcessGroup(infra.workdir / "run", infra.workdir / "log", env={**os.environ},
                         cwd=ROOT)
    registry = letters = None
    try:
        migrations.upgrade("registry")
        migrations.upgrade("letters")
        declare_topology()
        documents_store().ensure_bucket()
        group.start("letters", service_command("letters"))
        group.start("relay", [sys.executable, "-c",
                              f"from tests.bench.bench_events import serve_relay; "
                              f"serve_relay({poll!r})"])
        with ClusterRpcProxy(get_settings().nameko_config(), timeout=60) as rpc:
            wait_until(lambda: _pings(rpc), 60, "letters service")
        registry = make_engine(get_settings().database_url("registry"), pool_size=2)
        letters = make_engine(get_settings().database_url("letters"), pool_size=2)
        _record(registry, 0, 50)  # warm up the relay's and the consumer's connections
        _latencies(registry, letters, 0, 50, 30)

        steady = int(RATE * STEADY_SECONDS)
        began = time.perf_counter()
        for n in range(steady):
            _record(registry, 100 + n, 1)
            pause = began + (n + 1) / RATE - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        offered = steady / (time.perf_counter() - began)
        steady_relay: list[float] = []
        steady_ms = _latencies(registry, letters, 100, steady, 600, steady_relay)

        first = 100 + steady
        _record(registry, first, BURST)
        burst_relay: list[float] = []
        burst_ms = _latencies(registry, letters, first, BURST, 900, burst_relay)

        print(f"Event propagation on this machine ({os.cpu_count()} cores): registry commit -> "
              f"letters' read model (relay poll {poll} s, woken by NOTIFY)")
        print(f"{'load':<48} {'events':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>9}")
        print(f"{f'steady, {offered:.0f} events/s, one per commit':<48} {steady:>7} "
              f"{statistics.median(steady_ms):>8.1f} {_percentile(steady_ms, 0.99):>8.1f} "
              f"{max(steady_ms):>9.1f}")
        print(f"{f'burst of {BURST} in one commit (drained = max)':<48} {BURST:>7} "
              f"{statistics.median(burst_ms):>8.1f} {_percentile(burst_ms, 0.99):>8.1f} "
              f"{max(burst_ms):>9.1f}")
        print(f"{'  relay only (commit -> published, confirmed)':<48} {steady:>7} "
              f"{statistics.median(steady_relay):>8.1f} {_percentile(steady_relay, 0.99):>8.1f} "
              f"{max(steady_relay):>9.1f}")
        print(f"{'  relay only, the burst':<48} {BURST:>7} "
              f"{statistics.median(burst_relay):>8.1f} {_percentile(burst_relay, 0.99):>8.1f} "
              f"{max(burst_relay):>9.1f}")
        print(f"burst drained in {max(burst_ms) / 1000:.2f} s: "
              f"{BURST / (max(burst_ms) / 1000):.0f} events/s end to end")
        summary.record(
            summary.at_most(f"event propagation, steady {offered:.0f} events/s: p99",
                            _percentile(steady_ms, 0.99), "ms", 100),
            summary.info("  of which the relay (commit -> confirmed), p99",
                         _percentile(steady_relay, 0.99), "ms"),
            summary.at_most(f"event propagation, burst of {BURST:,}: drained", max(burst_ms)
                            / 1000, "s", 5),
            summary.info("  of which the relay published it in", max(burst_relay) / 1000, "s"))
    finally:
        for engine in (registry, letters):
            if engine is not None:
                engine.dispose()
        group.stop_all(["letters", "relay"])
        infra.stop()


if __name__ == "__main__":
    main()
