"""Finance: cash postings per second, and the realisation report of a village's whole year.

Not a pass/fail test: `main()` prints a table. It starts its own infrastructure and two finance
service processes plus the relay, as production runs them, and calls them over RPC as the
gateway does. Postings of one village are numbered one after another (a locked counter row),
so the table shows one village and many villages separately. The year of entries for the
report is written straight into the database (what a year of postings would leave).
"""
from __future__ import annotations

import logging
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.bench import summary

POSTINGS = int(os.environ.get("BENCH_FINANCE_POSTINGS", "300"))
VILLAGES = int(os.environ.get("BENCH_FINANCE_VILLAGES", "10"))
YEAR_ENTRIES = int(os.environ.get("BENCH_FINANCE_YEAR_ENTRIES", "5000"))
PROCESSES = int(os.environ.get("BENCH_FINANCE_PROCESSES", "2"))
REPORT_ROUNDS = int(os.environ.get("BENCH_FINANCE_REPORT_ROUNDS", "20"))
ROOT = Path(__file__).resolve().parents[2]
YEAR = date.today().year - 1


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _actor(role: str, village: str) -> dict:
    return {"role": role, "village_code": village, "username": f"bench.{role}"}


def _budget(finance, village: str, spending_lines: int = 1) -> dict[str, str]:
    """An approved budget: one Dana Desa income line and `spending_lines` spending lines."""
    officer = _actor("officer", village)
    finance.create_budget(village, {"year": YEAR}, village, officer)
    income = finance.add_line(village, YEAR, {"account_code": "4.2.1", "source": "DDS",
                                              "amount": 2_000_000_000}, village, officer)
    spending = [finance.add_line(village, YEAR, {
        "account_code": "5.2.1", "activity_code": f"01.01.0{1 + i % 7}", "source": "DDS",
        "amount": 500_000_000, "description": f"line {i}"}, village, officer)["id"]
        for i in range(spending_lines)]
    finance.budget_step(village, YEAR, "approve", village, _actor("head", village))
    return {"income": income["id"], "spending": spending}


def _receipt(line_id: str, n: int) -> dict:
    return {"date": f"{YEAR}-{1 + n % 12:02d}-{1 + n % 28:02d}", "line_id": line_id,
            "amount": 1_000 + n, "description": f"bench {n}", "method": "cash"}


def _write_year(engine, village: str, lines: dict[str, str], count: int) -> None:
    """`count` entries spread over the year: receipts on income, payments on spending."""
    from sqlalchemy.orm import Session

    from services.finance.models import CashEntry, Counter

    rng = random.Random(7)
    start, now = date(YEAR, 1, 2), datetime.now(UTC)
    rows = []
    for n in range(1, count + 1):
        receipt = n % 5 == 0
        line = lines["income"] if receipt else rng.choice(lines["spending"])
        rows.append(CashEntry(
            id=uuid.uuid4(), village_code=village, year=YEAR, number=n,
            entry_date=start + timedelta(days=n * 360 // count),
            kind="receipt" if receipt else "payment", amount=rng.randint(50_000, 900_000),
            account_code="4.2.1" if receipt else "5.2.1", line_id=uuid.UUID(line),
            method="bank", description=f"entry {n}", posted_at=now))
    with Session(engine) as session:
        session.add_all(rows)
        session.add(Counter(village_code=village, year=YEAR, series="bku", value=count))
        session.commit()


def main() -> None:
    from nameko.standalone.rpc import ClusterRpcProxy

    from deploy.local.processes import ProcessGroup, relay_command, service_command, wait_until
    from services.common import migrations
    from services.common.config import get_settings
    from services.common.db import make_engine
    from services.common.topology import declare_topology
    from tests.support.infrastructure import Infrastructure

    logging.getLogger("amqp").setLevel(logging.ERROR)
    infra = Infrastructure().start()
    workdir = Path(tempfile.mkdtemp(prefix="bench-finance-"))
    group = ProcessGroup(workdir / "run", workdir / "log", env={**os.environ}, cwd=ROOT)
    names = [f"finance-{i}" for i in range(1, PROCESSES + 1)] + ["relay"]
    try:
        migrations.upgrade("finance")
        declare_topology()
        for name in names[:-1]:
            group.start(name, service_command("finance"))
        group.start("relay", relay_command())
        with ClusterRpcProxy(get_settings().nameko_config(), timeout=300) as rpc:
            wait_until(lambda: _pings(rpc), 60, "finance service")
            time.sleep(2)  # let the service processes finish starting: they share the cores
            finance = rpc.finance
            villages = [f"36.04.07.{2001 + i}" for i in range(VILLAGES + 1)]
            budgets = {v: _budget(finance, v) for v in villages}
            treasurers = {v: _actor("treasurer", v) for v in villages}
            one, many = villages[0], villages[1:]

            def post_one(n: int, village: str) -> None:
                finance.record_receipt(village, _receipt(budgets[village]["income"], n),
                                       village, treasurers[village])

            post_one(0, one)  # warm up every worker path
            sequential = _timed(lambda: [post_one(n, one) for n in range(POSTINGS // 3)])

            def in_flight(targets: list[str]) -> None:
                replies = [finance.record_receipt.call_async(
                    v, _receipt(budgets[v]["income"], n), v, treasurers[v])
                    for n in range(POSTINGS) for v in [targets[n % len(targets)]]]
                for reply in replies:
                    reply.result()

            one_village = _timed(lambda: in_flight([one]))
            many_villages = _timed(lambda: in_flight(many))

            big = "36.04.07.2900"
            lines = _budget(finance, big, spending_lines=40)
            engine = make_engine(get_settings().database_url("finance"), pool_size=1)
            _write_year(engine, big, lines, YEAR_ENTRIES)
            engine.dispose()
            query = {"year": YEAR, "by": "account"}
            finance.realisation(big, query, big)  # warm up
            reports = {"json": _timed(lambda: finance.realisation(big, query, big))}
            ping_ms = [_timed(finance.ping) * 1000 for _ in range(REPORT_ROUNDS)]
            report_ms = [_timed(lambda: finance.realisation(big, query, big)) * 1000
                         for _ in range(REPORT_ROUNDS)]
            ping_ms += [_timed(finance.ping) * 1000 for _ in range(REPORT_ROUNDS)]
            for fmt in ("csv", "xlsx", "pdf"):
                reports[fmt] = _timed(lambda f=fmt: finance.realisation_file(
                    big, {**query, "format": f}, big))
            book = _timed(lambda: finance.cash_book(big, {"year": YEAR}, big))

        print(f"Finance on this machine ({os.cpu_count()} cores), {PROCESSES} service "
              f"processes; a posting = number, closed-month check, entry, outbox event")
        print(f"{'measure':<62} {'count':>6} {'seconds':>8} {'per s':>8}")
        for label, count, seconds in (
                ("receipts posted one at a time (one village)", POSTINGS // 3, sequential),
                (f"receipts, {POSTINGS} in flight, one village", POSTINGS, one_village),
                (f"receipts, {POSTINGS} in flight, {VILLAGES} villages", POSTINGS,
                 many_villages)):
            print(f"{label:<62} {count:>6} {seconds:>8.2f} {count / seconds:>8.1f}")
        print(f"Realisation report of a village with {YEAR_ENTRIES} entries and 41 lines "
              f"(seconds per report)")
        report_p95, ping_p95 = summary.percentile(report_ms), summary.percentile(ping_ms)
        print(f"  {'by account, JSON: p95 of ' + str(REPORT_ROUNDS) + ' (ms)':<60} "
              f"{report_p95:>8.1f}   finance.ping p95 {ping_p95:.1f} ms")
        summary.record(summary.at_most(
            f"finance realisation report, a village's year ({YEAR_ENTRIES:,} entries), p95",
            report_p95, "ms", 100, baseline=ping_p95, baseline_label="finance.ping RPC p95"))
        for label, seconds in (("by account, JSON", reports["json"]),
                               ("as CSV", reports["csv"]), ("as XLSX", reports["xlsx"]),
                               ("as PDF", reports["pdf"]),
                               ("general cash book of the year", book)):
            print(f"  {label:<60} {seconds:>8.3f}")
    finally:
        group.stop_all(names)
        infra.stop()


def _pings(rpc) -> bool:
    try:
        rpc.finance.ping()
        return True
    except Exception:  # noqa: BLE001 - not consuming yet
        return False


if __name__ == "__main__":
    main()
