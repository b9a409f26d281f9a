"""CSV import of residents with families, beside PostgreSQL COPY of the same rows.

Not a pass/fail test: `main()` prints a table. It starts its own infrastructure, migrates the
registry and seeds the villages, generates BENCH_IMPORT_ROWS synthetic residents in families
(services/registry/synthetic.py) as a village's spreadsheet, and times:
- the baseline: `COPY` of the same resident rows into a table shaped like `residents` (its
  columns and indexes, no triggers): the fastest PostgreSQL takes these rows on this machine;
- the import as the registry's job runs it (`imports.import_residents`: every rule checked,
  residents, family cards, memberships, history, events in the outbox, capture rows for the
  backup), committed.
Then it checks what landed: every resident, family card and event.
"""
from __future__ import annotations

import csv
import io
import os
import time

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
CODE = "36.04.07.2001"
COLUMNS = ("nik", "name", "sex", "birth_place", "birth_date", "religion", "marital_status",
           "occupation", "education", "blood_type", "ektp_status", "family_number",
           "relationship", "father_name", "mother_name", "dusun", "rw", "rt", "street")


def spreadsheet(families) -> str:
    """The families as a village's CSV (English headers; the importer takes both)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for family in families:
        for person in family.members:
            row = {**person, **person["address"]}
            writer.writerow([row.get(column) or "" for column in COLUMNS])
    return out.getvalue()


def copy_seconds(engine, families) -> float:
    """COPY the same resident rows into an empty table like `residents`; seconds taken."""
    from services.common.backup.capture import copy_expert
    from services.registry.synthetic_load import RESIDENT_COLUMNS

    columns = [c for c in RESIDENT_COLUMNS if c != "id"]
    text = io.StringIO()
    moment = "2026-11-29T00:00:00+00:00"
    for family in families:
        for person in family.members:
            row = {**person, **family.address, "village_code": family.village_code,
                   "has_nik": "t", "citizenship": "WNI", "status": "alive",
                   "registered_at": moment, "updated_at": moment}
            text.write("\t".join("\\N" if row.get(c) is None else str(row[c])
                                 for c in columns) + "\n")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("CREATE TABLE bench_copy (LIKE residents INCLUDING DEFAULTS "
                       "INCLUDING INDEXES INCLUDING IDENTITY)")
        raw.commit()
        text.seek(0)
        started = time.perf_counter()
        copy_expert(cursor, f"COPY bench_copy ({', '.join(columns)}) FROM STDIN", text)
        raw.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy")
        raw.commit()
        return elapsed
    finally:
        raw.close()


def main() -> None:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from services.common import migrations
    from services.common.config import get_settings
    from services.common.db import make_engine
    from services.common.outbox import Outbox
    from services.common.service import unit_of_work
    from services.registry.app import imports
    from services.registry.seed import seed_villages
    from services.registry.synthetic import population
    from tests.bench import summary
    from tests.support.infrastructure import Infrastructure

    infra = Infrastructure().start()
    engine = None
    try:
        migrations.upgrade("registry")
        engine = make_engine(get_settings().database_url("registry"), pool_size=2)
        with Session(engine) as session, unit_of_work(session):
            seed_villages(session, Outbox("registry"))
        families = list(population([CODE], ROWS, seed=12))
        csv_text = spreadsheet(families)
        with engine.connect() as conn:
            outbox_before = conn.scalar(sa.text("SELECT count(*) FROM outbox"))

        copy_s = copy_seconds(engine, families)
        started = time.perf_counter()
        with Session(engine) as session, unit_of_work(session):
            report = imports.import_residents(session, Outbox("registry"), CODE, csv_text,
                                              False, {"username": "bench.officer"})
        import_s = time.perf_counter() - started

        with engine.connect() as conn:
            residents = conn.scalar(sa.text(
                "SELECT count(*) FROM residents WHERE village_code = :c"), {"c": CODE})
            cards = conn.scalar(sa.text(
                "SELECT count(*) FROM families WHERE village_code = :c"), {"c": CODE})
            events = conn.scalar(sa.text("SELECT count(*) FROM outbox")) - outbox_before
        if report["errors"] or residents != ROWS or cards != len(families) or \
                events != ROWS + len(families):
            raise AssertionError(f"import incomplete: {residents} residents, {cards} cards, "
                                 f"{events} events, {len(report['errors'])} errors")

        copy_rate, import_rate = ROWS / copy_s, ROWS / import_s
        print(f"CSV import on this machine ({os.cpu_count()} cores): {ROWS} residents in "
              f"{len(families)} families, one village")
        print(f"{'path':<58} {'seconds':>8} {'rows/s':>9} {'x COPY':>7}")
        print(f"{'PostgreSQL COPY of the resident rows (no triggers)':<58} {copy_s:>8.2f} "
              f"{copy_rate:>9.0f} {1:>7.2f}")
        print(f"{'import job: every rule, families, events, capture':<58} {import_s:>8.2f} "
              f"{import_rate:>9.0f} {import_rate / copy_rate:>7.2f}")
        summary.record(summary.ratio_at_least(
            f"CSV import, {ROWS:,} residents with families", import_rate, "rows/s", 0.30,
            baseline=copy_rate, baseline_label="COPY of the same rows"))
    finally:
        if engine is not None:
            engine.dispose()
        infra.stop()


if __name__ == "__main__":
    main()
