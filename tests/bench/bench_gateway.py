"""A resident's record read through the gateway, beside the bare pooled RPC echo, 16 at once.

Not a pass/fail test: `main()` prints a table. It starts its own infrastructure, a registry
service process, the echo service of bench_rpc and the gateway under gunicorn (2 gthread workers
of 8 threads, as `make run` serves it). A village officer logs in and registers a resident; then
BENCH_GATEWAY_CLIENTS threads each read that record (`GET /api/v1/residents/{nik}` with the
officer's token, keep-alive) BENCH_GATEWAY_ROUNDS times, and the same number of threads call the
echo through the gateway's RpcPool in this process: the floor an RPC-backed read stands on.
Every read is authenticated, scoped, logged in the access log (the registry's read log) and
answered with the whole record. `GET /healthz` read the same way shows what the HTTP layer alone
(gunicorn, Flask, the security hooks) costs before a read reaches the broker.
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import statistics
import sys
import threading
import time
from pathlib import Path

CLIENTS = int(os.environ.get("BENCH_GATEWAY_CLIENTS", "16"))
ROUNDS = int(os.environ.get("BENCH_GATEWAY_ROUNDS", "150"))
WORKERS = int(os.environ.get("BENCH_GATEWAY_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_GATEWAY_THREADS", "8"))
REGISTRY_PROCESSES = int(os.environ.get("BENCH_GATEWAY_REGISTRY_PROCESSES", "1"))
CODE = "36.04.07.2001"
ROOT = Path(__file__).resolve().parents[2]


def _request(conn: http.client.HTTPConnection, method: str, path: str, token: str | None = None,
             body: dict | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for attempt in (1, 2):
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # gunicorn closed a keep-alive connection that sat idle (its keepalive timeout):
            # open it again, once.
            conn.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def read_concurrently(host: str, port: int, path: str, token: str, clients: int,
                      rounds: int) -> tuple[list[float], float]:
    """(per-request milliseconds, requests per second) of `clients` keep-alive clients."""
    timings: list[float] = []
    failures: list = []
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)

    def client() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        _request(conn, "GET", path, token)  # connect, untimed
        mine = []
        ready.wait()
        for _ in range(rounds):
            started = time.perf_counter()
            status, _ = _request(conn, "GET", path, token)
            mine.append((time.perf_counter() - started) * 1000)
            if status != 200:
                failures.append(status)
        conn.close()
        with lock:
            timings.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise AssertionError(f"{len(failures)} reads failed: {failures[:5]}")
    return timings, len(timings) / elapsed


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds so far of these processes and their children (gunicorn's
    workers), from /proc: what a path costs the machine, less sensitive than its rate to what
    else runs on it."""
    wanted, total = set(pids), 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(entry.name) in wanted or int(fields[1]) in wanted:
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _answers(pool, service: str, method: str, *args) -> bool:
    try:
        pool.call(service, method, args, {})
        return True
    except Exception:  # noqa: BLE001 - not consuming yet
        return False


def _p99(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _row(label: str, timings: list[float], rate: float, floor: float) -> str:
    p99 = _p99(timings)
    return (f"{label:<56} {len(timings):>6} {rate:>8.0f} {statistics.median(timings):>7.1f} "
            f"{p99:>7.1f} {rate / floor:>7.2f}")


def main() -> None:
    import sqlalchemy as sa

    from deploy.local.processes import (
        ProcessGroup,
        gateway_command,
        http_ok,
        service_command,
        wait_until,
    )
    from deploy.local.seaweed import free_port
    from gateway.rpc import RpcPool
    from services.common import migrations
    from services.common.config import get_settings
    from services.common.db import make_engine
    from services.common.outbox import Outbox
    from services.common.service import unit_of_work
    from services.registry.app.accounts import create_account
    from services.registry.seed import seed_villages
    from services.registry.synthetic import population
    from tests.bench import summary
    from tests.bench.bench_rpc import ECHO_SERVICE, measure_threads
    from tests.support.infrastructure import Infrastructure

    logging.getLogger("amqp").setLevel(logging.ERROR)
    infra = Infrastructure().start()
    os.environ["DESA_LOG_LEVEL"] = "WARNING"  # as production would run a loaded gateway
    group = ProcessGroup(infra.workdir / "run", infra.workdir / "log",
                         env={**os.environ, "DESA_LOG_LEVEL": "INFO"}, cwd=ROOT)
    registries = [f"registry-{i}" for i in range(1, REGISTRY_PROCESSES + 1)]
    names = [*registries, "echo", "gateway"]
    pool = None
    try:
        migrations.upgrade("registry")
        from services.common.topology import declare_topology

        declare_topology()
        engine = make_engine(get_settings().database_url("registry"), pool_size=1)
        password = "correct-horse-battery"
        with sa.orm.Session(engine) as session, unit_of_work(session):
            seed_villages(session, Outbox("registry"))
            create_account(session, "officer", "bench.officer", password, CODE)
        engine.dispose()
        for name in registries:
            group.start(name, service_command("registry"))
        group.start("echo", [sys.executable, "-c",
                             "from tests.bench.bench_rpc import serve_echo; serve_echo()"])
        port = free_port()
        group.start("gateway", gateway_command(f"127.0.0.1:{port}", workers=WORKERS,
                                               threads=THREADS))
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz", timeout=5), 90,
                   "gateway /healthz")
        pool = RpcPool(get_settings())
        wait_until(lambda: _answers(pool, ECHO_SERVICE, "echo", 1), 60, "echo service")
        wait_until(lambda: _answers(pool, "registry", "ping"), 60, "registry service")

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        status, body = _request(conn, "POST", "/api/v1/auth/login",
                                body={"username": "bench.officer", "password": password})
        assert status == 200, body
        token = body["access_token"]
        family = next(population([CODE], 1, seed=16))
        person = {key: value for key, value in family.members[0].items()
                  if key not in ("family_number", "relationship")}
        status, body = _request(conn, "POST", f"/api/v1/villages/{CODE}/residents", token,
                                person)
        assert status == 201, body
        conn.close()
        path = f"/api/v1/residents/{person['nik']}"
        time.sleep(2)  # let every process finish starting: they share the cores

        echo_ms, echo_rate = measure_threads(pool, CLIENTS, ROUNDS)
        gateway_pids = [group.pid("gateway")]
        registry_pids = [group.pid(name) for name in registries]

        def cpu_now() -> tuple[float, float, float]:
            return cpu_seconds(gateway_pids), cpu_seconds(registry_pids), time.process_time()

        def per_request(before: tuple, after: tuple, requests: int) -> list[float]:
            return [(b - a) * 1000 / requests for a, b in zip(before, after, strict=True)]

        cpu = {}
        before = cpu_now()
        read_ms, read_rate = read_concurrently("127.0.0.1", port, path, token, CLIENTS, ROUNDS)
        after = cpu_now()
        cpu["read"] = per_request(before, after, len(read_ms))
        # The HTTP layer alone (gunicorn, Flask, the security hooks; no token, no RPC): what a
        # read pays before it reaches the broker.
        http_ms, http_rate = read_concurrently("127.0.0.1", port, "/healthz", token, CLIENTS,
                                               ROUNDS)
        cpu["http"] = per_request(after, cpu_now(), len(http_ms))
        echo2_ms, echo2_rate = measure_threads(pool, CLIENTS, ROUNDS)
        floor = (echo_rate + echo2_rate) / 2

        print(f"Resident read through the gateway on this machine ({os.cpu_count()} cores), "
              f"{CLIENTS} concurrent clients; gunicorn {WORKERS}x{THREADS} gthread, "
              f"{REGISTRY_PROCESSES} registry process(es)")
        print(f"{'path':<56} {'calls':>6} {'per s':>8} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'x echo':>7}")
        print(_row(f"pooled nameko RPC echo, {CLIENTS} threads (before)", echo_ms, echo_rate,
                   floor))
        print(_row("GET /api/v1/residents/{nik}, officer's token", read_ms, read_rate, floor))
        print(_row("GET /healthz (HTTP alone: no token check, no RPC)", http_ms, http_rate,
                   floor))
        print(_row(f"pooled nameko RPC echo, {CLIENTS} threads (after)", echo2_ms, echo2_rate,
                   floor))
        for name, label in (("read", "resident read"), ("http", "GET /healthz")):
            gateway_cpu, registry_cpu, client_cpu = cpu[name]
            print(f"CPU per request, {label}: gateway workers {gateway_cpu:.2f} ms, registry "
                  f"{registry_cpu:.2f} ms, the clients (this process) {client_cpu:.2f} ms")
        label = f"resident read through the gateway, {CLIENTS} clients"
        summary.record(
            summary.ratio_at_least(f"{label}: throughput", read_rate, "req/s", 0.80,
                                   baseline=floor, baseline_label="pooled RPC echo"),
            summary.at_most(f"{label}: p99", _p99(read_ms), "ms", 30,
                            baseline=(_p99(echo_ms) + _p99(echo2_ms)) / 2,
                            baseline_label="echo p99"))
    finally:
        if pool is not None:
            pool.close_all()
        group.stop_all(names)
        infra.stop()
        os.environ.pop("DESA_LOG_LEVEL", None)


if __name__ == "__main__":
    main()
