"""Regency scale: searches, a village's resident page and the regency dashboard with the whole
regency's register loaded, through the real gateway and services.

Not a pass/fail test: `main()` prints a table and records its rows in the summary of
`make bench`. It starts its own infrastructure, loads BENCH_REGENCY_VILLAGES villages of
BENCH_REGENCY_RESIDENTS synthetic residents each with `desa seed synthetic`'s bulk load (326 x
100 by default, a couple of minutes; BENCH_REGENCY_FULL=1 loads 326 x 5,000 = 1.63 million, the
issue's size, two to ten minutes with the load), starts registry, letters, finance and potential
processes, the relay and the gateway under gunicorn, and times one client's requests (keep-alive, a
village officer's or the regency admin's token) BENCH_REGENCY_ROUNDS times per path. The
baseline, measured before and after in the same run, is the cheapest call through the same
stack: the public record of one village (gateway, one RPC, one row by key).

BENCH_REGENCY_KEEP=1 keeps the loaded registry as a template database
(`desa_bench_regency_<villages>x<residents>`) and later runs start from a copy of it (`CREATE
DATABASE ... TEMPLATE`, well under a minute for 1.63 million residents, migrated to the latest
revision after the copy) instead of loading again. `dropdb` it when the generator changes.
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import random
import statistics
import time
from pathlib import Path

from tests.bench import summary

FULL = os.environ.get("BENCH_REGENCY_FULL") == "1"
VILLAGES = int(os.environ.get("BENCH_REGENCY_VILLAGES", "326"))
RESIDENTS = int(os.environ.get("BENCH_REGENCY_RESIDENTS", "5000" if FULL else "100"))
ROUNDS = int(os.environ.get("BENCH_REGENCY_ROUNDS", "200"))
WORKERS = int(os.environ.get("BENCH_REGENCY_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_REGENCY_THREADS", "8"))
KEEP = os.environ.get("BENCH_REGENCY_KEEP") == "1"
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"
GOALS_MS = {"village_search": 50, "regency_search": 100, "village_page": 30, "dashboard": 200}


class Client:
    """One keep-alive HTTP client with a token (API) and the same token as the portal cookie."""

    def __init__(self, port: int, token: str | None = None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token = token

    def get(self, path: str) -> tuple[int, bytes]:
        headers = {}
        if self.token:
            headers = {"Authorization": f"Bearer {self.token}",
                       "Cookie": f"desa_sesi={self.token}"}
        try:
            self.conn.request("GET", path, headers=headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            # gunicorn closes a keep-alive connection idle for 2 s: connect again
            self.conn.close()
            self.conn.request("GET", path, headers=headers)
            response = self.conn.getresponse()
        return response.status, response.read()

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        self.conn.request("POST", path, body=json.dumps(body),
                          headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")


def timed(client: Client, paths: list[str], rounds: int) -> list[float]:
    """Milliseconds per request, cycling through `paths` (each must answer 200)."""
    client.get(paths[0])  # warm the connection
    timings = []
    for n in range(rounds):
        path = paths[n % len(paths)]
        started = time.perf_counter()
        status, body = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise AssertionError(f"GET {path}: {status} {body[:300]!r}")
    return timings


def _name_queries(rng: random.Random, names: list[str]) -> list[str]:
    """What people type: a whole name, a first name and second name, or a part of a word."""
    queries = []
    for name in names:
        words = [w for w in name.replace("H. ", "").split(" ") if len(w) > 2]
        choice = rng.random()
        if choice < 0.4 or len(words) <= 1:
            queries.append(name)
        elif choice < 0.7:
            queries.append(" ".join(words[:2]))
        else:
            word = max(words, key=len)
            start = rng.randint(0, max(0, len(word) - 5))
            queries.append(word[start:start + 5])
    return queries


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


def _database_exists(admin, name: str) -> bool:
    import sqlalchemy as sa

    with admin.connect() as conn:
        return bool(conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": name}))


def _copy_database(admin, source: str, target: str) -> None:
    """`CREATE DATABASE target TEMPLATE source` (no one may be connected to `source`)."""
    import sqlalchemy as sa

    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{target}" TEMPLATE "{source}"'))


def main() -> None:
    import sqlalchemy as sa

    from deploy.local.processes import (
        ProcessGroup,
        gateway_command,
        http_ok,
        relay_command,
        service_command,
        wait_until,
    )
    from deploy.local.seaweed import free_port
    from services.common import migrations
    from services.common.config import get_settings
    from services.common.db import make_engine
    from services.common.outbox import Outbox
    from services.common.service import unit_of_work
    from services.common.topology import declare_topology
    from services.registry.app.accounts import create_account
    from services.registry.reference import serang_villages
    from services.registry.seed import seed_villages
    from services.registry.synthetic_load import LoadReport, load_population
    from tests.support.infrastructure import Infrastructure

    logging.getLogger("amqp").setLevel(logging.ERROR)
    infra = Infrastructure().start()
    group = ProcessGroup(infra.workdir / "run", infra.workdir / "log",
                         env={**os.environ, "DESA_LOG_LEVEL": "WARNING"}, cwd=ROOT)
    # potential: the dashboard's businesses and tourism sites per district.
    servers = ["registry", "letters", "finance", "potential"]
    names = [*servers, "relay", "gateway"]
    rng = random.Random(12)
    try:
        codes = [v.code for v in serang_villages()][:VILLAGES]
        village = codes[len(codes) // 2]
        registry_url = sa.engine.make_url(get_settings().database_url("registry"))
        kept = f"desa_bench_regency_{len(codes)}x{RESIDENTS}"
        admin = make_engine(registry_url.set(database="postgres").render_as_string(False),
                            poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        reused = KEEP and _database_exists(admin, kept)
        if reused:
            print(f"starting from a copy of {kept} ...", flush=True)
            began = time.monotonic()
            _copy_database(admin, kept, registry_url.database)
            print(f"copied in {time.monotonic() - began:.0f} s", flush=True)
        for service in servers:
            migrations.upgrade(service)
        declare_topology()
        engine = make_engine(get_settings().database_url("registry"), pool_size=1)
        with sa.orm.Session(engine) as session, unit_of_work(session):
            seed_villages(session, Outbox("registry"))
        if reused:
            with engine.connect() as conn:
                count = conn.scalar(sa.text("SELECT count(*) FROM residents"))
            report = LoadReport(residents=count)
        else:
            print(f"loading {len(codes)} villages x {RESIDENTS:,} synthetic residents ...",
                  flush=True)
            report = load_population(engine, codes, RESIDENTS, seed=1)
            print(f"loaded {report.residents:,} residents, {report.families:,} families in "
                  f"{report.seconds:.0f} s ({report.residents / report.seconds:,.0f} "
                  f"residents/s)", flush=True)
            if KEEP:
                engine.dispose()  # a template must have no one connected
                _copy_database(admin, registry_url.database, kept)
                print(f"kept as {kept} for the next run (BENCH_REGENCY_KEEP=1)", flush=True)
        admin.dispose()
        with sa.orm.Session(engine) as session, unit_of_work(session):
            create_account(session, "officer", "bench.officer", PASSWORD, village)
            create_account(session, "regency_admin", "bench.admin", PASSWORD, None)
        with engine.connect() as conn:
            in_village = conn.execute(sa.text(
                "SELECT name, nik FROM residents WHERE village_code = :v ORDER BY random() "
                "LIMIT 100"), {"v": village}).all()
            anywhere = conn.execute(sa.text(
                "SELECT name, nik FROM residents TABLESAMPLE SYSTEM (1) LIMIT 100")).all()
        engine.dispose()

        for name in servers:
            group.start(name, service_command(name))
        group.start("relay", relay_command())
        port = free_port()
        group.start("gateway", gateway_command(f"127.0.0.1:{port}", workers=WORKERS,
                                               threads=THREADS))
        # /readyz: gateway and broker (/statusz would wait for potential, not started here).
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/readyz", timeout=5), 180,
                   "gateway /readyz")
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/api/v1/villages/{village}",
                                   timeout=10), 180, "registry through the gateway")
        tokens = {}
        for username in ("bench.officer", "bench.admin"):
            status, body = Client(port).post("/api/v1/auth/login",
                                             {"username": username, "password": PASSWORD})
            assert status == 200, body
            tokens[username] = body.get("access_token") or body["token"]
        officer, admin = Client(port, tokens["bench.officer"]), Client(port, tokens["bench.admin"])
        public = Client(port)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/kabupaten", timeout=30,
                                   cookies={"desa_sesi": admin.token}), 180,
                   "the dashboard (letters, finance, potential)")
        time.sleep(2)  # let every process finish starting: they share the cores

        pages = max(1, RESIDENTS // 20)
        base = f"/api/v1/villages/{village}/residents"
        paths: dict[str, tuple[Client, list[str]]] = {
            "village_search_name": (officer, [f"{base}?q={_quoted(q)}" for q in
                                              _name_queries(rng, [n for n, _ in in_village])]),
            "village_search_nik": (officer, [f"{base}?q={nik[:rng.randint(8, 16)]}"
                                             for _, nik in in_village]),
            "regency_search_name": (admin, [f"/api/v1/residents?q={_quoted(q)}" for q in
                                            _name_queries(rng, [n for n, _ in anywhere])]),
            "regency_search_nik": (admin, [f"/api/v1/residents?q={nik[:rng.randint(10, 16)]}"
                                           for _, nik in anywhere]),
            "village_page": (officer, [f"{base}?per_page=20&page={rng.randint(1, pages)}"
                                       for _ in range(100)]),
            "dashboard": (admin, ["/kabupaten"]),
        }
        baseline_paths = [f"/api/v1/villages/{code}" for code in codes[:50]]
        measured: dict[str, list[float]] = {}
        before = timed(public, baseline_paths, ROUNDS)
        for key, (client, targets) in paths.items():
            rounds = ROUNDS if key != "dashboard" else max(20, ROUNDS // 5)
            measured[key] = timed(client, targets, rounds)
        after = timed(public, baseline_paths, ROUNDS)
        baseline = (summary.percentile(before) + summary.percentile(after)) / 2

        print(f"Regency scale on this machine ({os.cpu_count()} cores): {report.residents:,} "
              f"residents in {len(codes)} villages; one client, gunicorn {WORKERS}x{THREADS}")
        print(f"{'path':<58} {'calls':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
              f"{'x base':>7}")
        rows = [("baseline: GET /api/v1/villages/{code} (before)", before),
                *((key, timings) for key, timings in measured.items()),
                ("baseline: GET /api/v1/villages/{code} (after)", after)]
        for label, timings in rows:
            p95, p99 = summary.percentile(timings), summary.percentile(timings, 0.99)
            print(f"{label:<58} {len(timings):>6} {statistics.median(timings):>7.1f} "
                  f"{p95:>7.1f} {p99:>7.1f} {p95 / baseline:>7.2f}")
        scale = f"{report.residents / 1e6:.2f} M residents"
        for key, label, goal in (
                ("village_search_name", "name search in a village", "village_search"),
                ("village_search_nik", "NIK search in a village", "village_search"),
                ("regency_search_name", "name search across the regency", "regency_search"),
                ("regency_search_nik", "NIK search across the regency", "regency_search"),
                ("village_page", "a village's resident page (20)", "village_page"),
                ("dashboard", "the regency dashboard (/kabupaten)", "dashboard")):
            summary.record(summary.at_most(
                f"regency scale ({scale}): {label}, p95", summary.percentile(measured[key]),
                "ms", GOALS_MS[goal], baseline=baseline, baseline_label="village record p95"))
        if not reused:
            summary.record(summary.info(f"synthetic bulk load ({scale})",
                                        report.residents / report.seconds, "residents/s"))
    finally:
        group.stop_all(names)
        infra.stop()


if __name__ == "__main__":
    main()
    summary.print_table()
