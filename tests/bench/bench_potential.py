"""Potential: `GET /public/search` at regency scale, beside baselines measured in the same run.

Not a pass/fail test: `main()` prints a table. It starts its own infrastructure, one potential
service process, and the gateway app in this process (Flask test client: the routes, the
marshmallow at the edge and the pooled RPC are all real; only gunicorn's socket is left out),
then seeds 326 villages x 200 businesses (plus tourism sites and organisations) straight into
the database, as registering them would leave them, and times requests one after another.

Rows:
- the floor: `GET /public/villages/{code}/profile` (one row by key through gateway, RPC, DB);
  requests go to every path in turns, so the machine's load falls on all rows alike;
- search with a common word, a rare word, two words, filters, and no word at all;
- the same word searches with the word index dropped (what the index buys).
The goal (issue 10): search p95 under 100 ms on this machine.
"""
from __future__ import annotations

import csv
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from tests.bench import summary

VILLAGE_BUSINESSES = int(os.environ.get("BENCH_POTENTIAL_BUSINESSES", "200"))
REQUESTS = int(os.environ.get("BENCH_POTENTIAL_REQUESTS", "200"))
ROOT = Path(__file__).resolve().parents[2]
VILLAGES_CSV = ROOT / "services/registry/data/serang_villages.csv"
GOAL_MS = 100.0

SEED_SQL = """
WITH words AS (
    SELECT ARRAY['Keripik', 'Emping', 'Batik', 'Kopi', 'Sate', 'Bengkel', 'Warung', 'Jahit',
                 'Kerupuk', 'Dodol', 'Gula Aren', 'Madu', 'Anyaman', 'Tahu', 'Tempe', 'Ikan Asin',
                 'Sablon', 'Laundry', 'Mebel', 'Bakso'] AS product,
           ARRAY['Bu Siti', 'Pak Udin', 'Mang Ujang', 'Teh Neneng', 'Haji Dulah', 'Jaya',
                 'Barokah', 'Sejahtera', 'Mandiri', 'Berkah'] AS owner,
           ARRAY['kuliner', 'fashion', 'kriya', 'pertanian', 'perdagangan', 'jasa'] AS sector
)
INSERT INTO businesses (id, village_code, owner_nik, name, sector, description, products,
                        workers, capital, yearly_sales, size_class, address, location_warnings,
                        certifications, status, created_at, updated_at)
SELECT gen_random_uuid(), v.code, lpad((n % 10000000000000000)::text, 16, '9'),
       w.product[1 + (n * 7) % 20] || ' ' || w.owner[1 + (n / 20) % 10] || ' ' || n,
       w.sector[1 + n % 6],
       'Usaha ' || lower(w.product[1 + (n * 7) % 20]) || ' rumahan, dijual di pasar '
           || lower(w.product[1 + (n * 11) % 20]) || ' dan daring',
       '[]'::jsonb, 1 + n % 9, 10000000 + n, 50000000 + n, 'micro', '{}'::jsonb, '[]'::jsonb,
       '[]'::jsonb, 'active', now(), now()
FROM words w, unnest(CAST(:codes AS text[])) WITH ORDINALITY AS v(code, i),
     generate_series(1, :per_village) AS s(k), LATERAL (SELECT (v.i * 1000 + s.k)::int) AS x(n)
"""
CATALOGUE_SQL = """
INSERT INTO catalogue (kind, entity_id, village_code, district_code, sector, name, summary,
                       search_text, updated_at)
SELECT 'business', id, village_code, left(village_code, 8), sector, name, description,
       lower(name || ' ' || description || ' ' || sector), now() FROM businesses
"""
SITES_SQL = """
INSERT INTO catalogue (kind, entity_id, village_code, district_code, sector, name, summary,
                       search_text, updated_at)
SELECT kind, gen_random_uuid(), code, left(code, 8), NULL, name, name, lower(name), now()
FROM unnest(CAST(:codes AS text[])) AS v(code),
     LATERAL (VALUES ('tourism_site', 'Curug ' || code), ('tourism_site', 'Pantai ' || code),
                     ('organisation', 'Karang Taruna ' || code), ('organisation', 'PKK ' || code),
                     ('organisation', 'Gapoktan ' || code)) AS t(kind, name)
"""


def _villages() -> list[dict]:
    with VILLAGES_CSV.open(newline="") as f:
        return list(csv.DictReader(f))


def _seed(engine, villages: list[dict]) -> dict[str, int]:
    import sqlalchemy as sa

    codes = [v["village_code"] for v in villages]
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO villages (village_code, name, district_code, district_name) "
            "VALUES (:code, :name, :district, :district_name)"),
            [{"code": v["village_code"], "name": v["village_name"],
              "district": v["district_code"], "district_name": v["district_name"]}
             for v in villages])
        conn.execute(sa.text(SEED_SQL), {"codes": codes, "per_village": VILLAGE_BUSINESSES})
        conn.execute(sa.text(CATALOGUE_SQL))
        conn.execute(sa.text(SITES_SQL), {"codes": codes})
        counts = dict(conn.execute(sa.text(
            "SELECT kind, count(*) FROM catalogue GROUP BY kind")).all())
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))  # the steady state autovacuum keeps
    return counts


def _times(client, paths: list[str], count: int) -> list[tuple[list[float], int | None]]:
    """Milliseconds of `count` requests to each path (after two warm-up requests each), taken
    in turns (one to each path, then again), so the machine's load changes them all alike."""
    totals = []
    for path in paths:
        for _ in range(2):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code,
                                                 response.get_data())
        totals.append((response.get_json() or {}).get("total"))
    took: list[list[float]] = [[] for _ in paths]
    for _ in range(count):
        for index, path in enumerate(paths):
            started = time.perf_counter()
            response = client.get(path)
            took[index].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return list(zip(took, totals, strict=True))


def _p95(took: list[float]) -> float:
    ordered = sorted(took)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def _row(label: str, took: list[float], total: int | None) -> str:
    p95 = _p95(took)
    flag = "" if total is None else ("ok" if p95 < GOAL_MS else "OVER")
    return (f"{label:<58} {'-' if total is None else total:>7} "
            f"{statistics.median(took):>7.1f} {p95:>7.1f} {max(took):>7.1f} {flag:>4}")


def main() -> None:
    import sqlalchemy as sa
    from nameko.standalone.rpc import ClusterRpcProxy

    from deploy.local.processes import ProcessGroup, service_command, wait_until
    from gateway.app import create_app
    from services.common import migrations
    from services.common.config import get_settings
    from services.common.db import make_engine
    from services.common.topology import declare_topology
    from tests.support.infrastructure import Infrastructure

    logging.getLogger("amqp").setLevel(logging.ERROR)
    logging.getLogger("gateway.access").setLevel(logging.WARNING)
    infra = Infrastructure().start()
    workdir = Path(tempfile.mkdtemp(prefix="bench-potential-"))
    group = ProcessGroup(workdir / "run", workdir / "log", env={**os.environ}, cwd=ROOT)
    app = None
    try:
        migrations.upgrade("potential")
        declare_topology()
        engine = make_engine(get_settings().database_url("potential"), pool_size=1)
        villages = _villages()
        began = time.monotonic()
        counts = _seed(engine, villages)
        seeded = time.monotonic() - began
        group.start("potential", service_command("potential"))
        with ClusterRpcProxy(get_settings().nameko_config(), timeout=60) as rpc:
            wait_until(lambda: _pings(rpc), 60, "potential service")
        time.sleep(2)
        app = create_app()
        client = app.test_client()
        village = villages[100]["village_code"]
        district = villages[100]["district_code"]
        rows = [("baseline: public profile of one village (gateway, RPC, one row)",
                 f"/api/v1/public/villages/{village}/profile", False)]
        searches = [
            ("search q=emping (a common word: ~1 in 10)", "/api/v1/public/search?q=emping"),
            ("search q=barokah emping (two words)", "/api/v1/public/search?q=barokah%20emping"),
            ("search q=2150 (a rare number)", "/api/v1/public/search?q=2150"),
            ("search q=usaha (a word every business has)", "/api/v1/public/search?q=usaha"),
            ("search q=curug&type=tourism_site", "/api/v1/public/search?q=curug&type="
                                                  "tourism_site"),
            (f"search q=kopi&sector=kuliner&district_code={district}",
             f"/api/v1/public/search?q=kopi&sector=kuliner&district_code={district}"),
            ("search, no word, first page of everything", "/api/v1/public/search"),
        ]
        labelled = [(label, path) for label, path, _ in rows] + searches
        results = [(label, took, total) for (label, _), (took, total) in zip(
            labelled, _times(client, [path for _, path in labelled], REQUESTS), strict=True)]
        results[0] = (results[0][0], results[0][1], None)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX ix_catalogue_search_words"))
        unindexed = [(f"{label} [no word index]", took, total) for (label, _), (took, total)
                     in zip(searches[:3], _times(client, [path for _, path in searches[:3]],
                                                 REQUESTS // 4), strict=True)]
        baseline = _p95(results[0][1])
        worst = max(results[1:], key=lambda result: _p95(result[1]))
        summary.record(
            summary.at_most(f"public catalogue search over {counts.get('business', 0):,} "
                            f"businesses, p95 (worst: {worst[0].removeprefix('search ')})",
                            _p95(worst[1]), "ms", GOAL_MS, baseline=baseline,
                            baseline_label="gateway → one village's public profile"),
            *[summary.info(f"  {label}, p95", _p95(took), "ms", baseline=baseline,
                           baseline_label="public profile") for label, took, _ in results[1:]])

        print(f"Public search on this machine ({os.cpu_count()} cores): {len(villages)} "
              f"villages, catalogue {counts} (seeded in {seeded:.1f} s), one potential "
              f"process, gateway in-process; {REQUESTS} requests per row, one at a time")
        print(f"{'request':<58} {'matches':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
              f"goal")
        for label, took, total in results:
            print(_row(label, took, total))
        print(f"without the index ({REQUESTS // 4} requests each): what the word index buys")
        for label, took, total in unindexed:
            print(_row(label, took, total))
        engine.dispose()
    finally:
        if app is not None:
            app.extensions["desa"]["rpc"].close_all()
        group.stop_all(["potential"])
        infra.stop()


def _pings(rpc) -> bool:
    try:
        rpc.potential.ping()
        return True
    except Exception:  # noqa: BLE001 - not consuming yet
        return False


if __name__ == "__main__":
    main()
    summary.print_table()
