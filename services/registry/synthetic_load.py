"""Bulk load of a synthetic population with PostgreSQL COPY: 1.6 million residents in minutes.

For benchmark and load-test databases, not for a village's real register (decision 0090):
- No event is written: a million `resident.registered` rows would keep the relay busy for hours
  (about 300-400 events/s) and every consumer with it. `desa republish` announces the state
  afterwards if a consumer's read model should hold these people.
- No capture row is written (triggers are off for the transaction, as in pg_restore): the
  backup journal is for changes made by people; take a snapshot to back up a seeded database.
  This needs a superuser connection, as `make run` and the tests have.
- No registration line in resident_changes: a record's history starts with its first change.
- Only villages without residents are filled, in one transaction: all of it or nothing.
The rows are the same as the register's own: the same columns, family cards with their head,
and an open membership per member from the card's registration (or the member's birth).
"""
from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine

from services.common.backup.capture import copy_expert
from services.registry import identity
from services.registry.synthetic import SerialBook, SyntheticFamily, population

RESIDENT_COLUMNS = (
    "id", "nik", "has_nik", "village_code", "name", "sex", "birth_place", "birth_date",
    "religion", "citizenship", "blood_type", "marital_status", "occupation", "education",
    "family_number", "relationship", "father_name", "father_nik", "mother_name", "mother_nik",
    "ektp_status", "dusun", "rw", "rt", "street", "status", "registered_at", "updated_at")
FAMILY_COLUMNS = ("id", "number", "village_code", "head_id", "dusun", "rw", "rt", "street",
                  "created_at", "updated_at")
MEMBERSHIP_COLUMNS = ("id", "family_id", "resident_id", "relationship", "valid_from")
TABLES = {"residents": RESIDENT_COLUMNS, "families": FAMILY_COLUMNS,
          "family_memberships": MEMBERSHIP_COLUMNS}


class VillagesNotEmpty(Exception):
    """A bulk load only fills villages that have no residents yet."""


@dataclass
class LoadReport:
    villages: int = 0
    residents: int = 0
    families: int = 0
    seconds: float = 0.0


def _cell(value: object) -> str:
    # Text comes from synthetic_names.json, which holds no tab, newline or backslash
    # (synthetic.names() checks), so no value needs COPY's escapes.
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    return str(value)


class _Rows:
    """COPY text of the three tables for one batch, with ids handed out from the current max."""

    def __init__(self, next_ids: dict[str, int], moment: datetime):
        self.next_ids = next_ids
        self.moment = moment.isoformat()
        self.buffers = {table: io.StringIO() for table in TABLES}

    def _id(self, table: str) -> int:
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    def _write(self, table: str, values: Iterable[object]) -> None:
        self.buffers[table].write("\t".join(map(_cell, values)) + "\n")

    def add(self, family: SyntheticFamily) -> None:
        family_id = self._id("families")
        head_id = None
        address = family.address
        for person in family.members:
            resident_id = self._id("residents")
            head_id = head_id or resident_id
            row = {**person, **address, "id": resident_id, "village_code": family.village_code,
                   "has_nik": not identity.is_temporary_number(person["nik"]),
                   "citizenship": "WNI", "status": "alive", "registered_at": self.moment,
                   "updated_at": self.moment}
            self._write("residents", (row.get(column) for column in RESIDENT_COLUMNS))
            valid_from = max(family.registered_on, date.fromisoformat(person["birth_date"]))
            self._write("family_memberships", (self._id("family_memberships"), family_id,
                                               resident_id, person["relationship"], valid_from))
        self._write("families", (family_id, family.number, family.village_code, head_id,
                                 address["dusun"], address["rw"], address["rt"],
                                 address["street"], self.moment, self.moment))

    def copy(self, cursor) -> None:
        for table in ("residents", "families", "family_memberships"):
            buffer = self.buffers[table]
            buffer.seek(0)
            copy_expert(cursor, f"COPY {table} ({', '.join(TABLES[table])}) FROM STDIN", buffer)


def load_population(engine: Engine, village_codes: list[str], residents_per_village: int,
                    seed: int = 1, *,
                    progress: Callable[[str, int], None] | None = None) -> LoadReport:
    """Fill each village (they must exist and have no residents) with synthetic families.

    `progress(village_code, residents so far)` is called after each village is copied.
    """
    began = time.monotonic()
    report = LoadReport()
    codes = sorted(village_codes)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # As pg_restore does: no trigger fires for these rows, so neither the capture triggers
        # (no backup_changes rows) nor the foreign-key checks, which the generator's own ids
        # satisfy (tests/integration/registry/test_synthetic_load.py checks). Superuser only:
        # this is a tool for benchmark databases.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("LOCK TABLE residents, families, family_memberships IN EXCLUSIVE MODE")
        cursor.execute("SELECT DISTINCT village_code FROM residents WHERE village_code = ANY(%s)",
                       (codes,))
        taken = sorted(row[0] for row in cursor.fetchall())
        if taken:
            raise VillagesNotEmpty(f"these villages already have residents: {', '.join(taken)}")
        serials = SerialBook()  # fake numbers already taken (the demo village's) stay unique
        cursor.execute("SELECT nik FROM residents WHERE has_nik AND substr(nik, 13, 1) = '9' "
                       "UNION ALL SELECT number FROM families WHERE substr(number, 13, 1) = '9'")
        for (number,) in cursor.fetchall():
            serials.reserve(number)
        # Maintained row by row, the name's trigram index (GIN) made COPY ten times slower
        # than building it once at the end, as pg_restore does; the same for the other
        # secondary indexes. Constraints (primary keys, unique NIK and No. KK) stay.
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = ANY(%s) AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (list(TABLES),))
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        next_ids = {}
        for table in TABLES:
            cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
            next_ids[table] = cursor.fetchone()[0]
        moment = datetime.now(UTC)
        batch, current = _Rows(next_ids, moment), None
        for family in population(codes, residents_per_village, seed, serials):
            if family.village_code != current:
                if current is not None:
                    batch.copy(cursor)
                    batch = _Rows(next_ids, moment)
                    if progress:
                        progress(current, report.residents)
                current = family.village_code
                report.villages += 1
            batch.add(family)
            report.families += 1
            report.residents += len(family.members)
        batch.copy(cursor)
        if progress and current is not None:
            progress(current, report.residents)
        for _, definition in indexes:
            cursor.execute(definition)
        for table in TABLES:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"greatest(%s, (SELECT coalesce(max(id), 1) FROM {table})))",
                           (next_ids[table] - 1 or 1,))
        raw.commit()
        # Fresh statistics (or the planner guesses from an empty table) and the visibility map
        # (or a count over a village's index visits every row), as after a restore.
        connection = raw.driver_connection
        connection.autocommit = True
        try:
            for table in TABLES:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        finally:
            connection.autocommit = False
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    report.seconds = time.monotonic() - began
    return report
