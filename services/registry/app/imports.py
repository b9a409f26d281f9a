"""Bulk import of residents from a village's spreadsheet (CSV): all rows or none, as a job.

`start_import` records a job (the CSV with it) and answers at once; a registry process picks the
job up (`run_next_job`, from a timer; SKIP LOCKED, so any number of processes share the work),
reports progress as it parses, checks and writes, and records the report or the refusal. The
import itself is one transaction; progress is written beside it in short transactions of its
own, and the work yields to the hub every few hundred rows, so other calls keep flowing.
"""
from __future__ import annotations

import io
import json
import logging
import operator
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta

import eventlet
import sqlalchemy as sa
from marshmallow import fields as ma_fields
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import audit, clock, roles
from services.common.backup.capture import copy_expert
from services.common.errors import Conflict, DesaError, NotFound, Unprocessable, ValidationFailed
from services.common.events import to_json_safe
from services.common.outbox import Outbox
from services.registry import csv_import, domain, events, identity, models
from services.registry.app import records
from services.registry.models import Family, ImportJob, Resident, Village
from services.registry.reference import district_prefixes

log = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
STALE_AFTER = timedelta(minutes=10)  # a running job without a heartbeat: its process died
MAX_ATTEMPTS = 3

Tick = Callable[[str, int], None]


def _no_tick(phase: str, rows: int) -> None:
    pass


def import_residents(session: Session, outbox: Outbox, village_code: str, csv_text: str,
                     dry_run: bool, actor: dict | None, tick: Tick = _no_tick) -> dict:
    """Validate every row; write all of them (one transaction) or none. See csv_import.py."""
    village = records.village(session, village_code)
    if not isinstance(csv_text, str):
        raise ValidationFailed("CSV must be text", fields={"file": ["Send the CSV as text."]})
    if isinstance(dry_run, str):
        dry_run = dry_run.strip().lower() in ("1", "true", "yes")
    parsed = csv_import.parse(csv_text, lambda rows: tick("parsing", rows))
    rows, errors = parsed.rows, list(parsed.errors)
    tick("checking", parsed.count)
    niks = [row.data["nik"] for row in rows if row.data.get("nik")]
    numbers = {row.data["family_number"] for row in rows if row.data.get("family_number")}
    existing_niks = set(session.scalars(sa.select(Resident.nik).where(Resident.nik.in_(niks))))
    existing_families = set(session.scalars(
        sa.select(Family.number).where(Family.number.in_(numbers))))
    errors += csv_import.check_rows(rows, existing_niks=existing_niks,
                                    existing_families=existing_families)
    errors.sort(key=lambda e: (e["line"], e["field"]))
    families = csv_import.families_of(rows)
    # On a dry run the counts say what an import of this file would write.
    report = {"dry_run": bool(dry_run), "rows": parsed.count,
              "imported": 0 if errors else len(rows),
              "families": 0 if errors else len(families), "errors": errors}
    if errors and not dry_run:
        raise Unprocessable("CSV has errors; nothing imported", fields={"rows": errors})
    if dry_run or not rows:
        return report
    written = _write_import(session, outbox, village, rows, actor, tick)
    report["results"] = [{"line": line, "nik": nik} for line, nik in written]
    return report


def _write_import(session: Session, outbox: Outbox, village: Village,
                  rows: list[csv_import.Row], actor: dict | None,
                  tick: Tick = _no_tick) -> list[tuple[int, str]]:
    """Write checked rows set-based (decision 0102): the rows go into a temporary staging
    table by COPY (in slices, a tick between), and every other row is made from it by SQL:
    residents, family cards (heads, first-line order), memberships, each resident's
    `resident.registered` payload (built as `events.resident_state` builds it; a test holds the
    two together), history lines, audit rows and the events with their envelopes. No per-row
    Python after the COPY text. The capture triggers see every row, as for any other insert.
    Returns (line, NIK or temporary number) per row, in file order."""
    moment, start = clock.now(), clock.local_today()
    temporary = iter(_take_temporary_numbers(
        session, village.code, sum(1 for row in rows if not row.data.get("nik"))))
    written = []
    for row in rows:
        data = row.data
        address = data.get("address") or {}
        nik = data.get("nik") or next(temporary)
        values = {**_EMPTY_STAGED, **data, **records.address_columns(address), "nik": nik,
                  "has_nik": not identity.is_temporary_number(nik)}
        values["citizenship"] = values.get("citizenship") or domain.CITIZENSHIPS[0]
        written.append((row.line, values))
    _stage(session, written, tick)
    params = {"village": village.code, "moment": moment, "moment_iso": moment.isoformat(),
              "start": start, "start_iso": start.isoformat(),
              "districts": sorted(district_prefixes()), "actor": _json(actor),
              "actor_role": (actor or {}).get("role") or roles.SYSTEM,
              "actor_username": (actor or {}).get("username"),
              "actor_nik": (actor or {}).get("nik"),
              "temporary_warning": identity.TEMPORARY_WARNING,
              "district_warning": identity.DISTRICT_WARNING,
              "birth_date_warning": identity.BIRTH_DATE_WARNING,
              "alive": domain.ALIVE, "head": domain.HEAD_OF_FAMILY}
    try:
        for statement in _WRITE_STATEMENTS:
            session.execute(sa.text(statement), params)
            tick("writing", len(rows))
    except IntegrityError:
        # Rows were checked first; a clash here means someone registered them meanwhile.
        raise Conflict("A NIK or No. KK of the file was registered meanwhile; nothing imported",
                       fields={"file": ["Registered meanwhile; check the file again."]}) \
            from None
    outbox.record_from_query(session, _RESIDENT_EVENTS, {
        "type": events.RESIDENT_REGISTERED, "village": village.code})
    outbox.record_from_query(session, _FAMILY_EVENTS, {
        "type": events.FAMILY_UPDATED, "start_iso": start.isoformat(),
        "moment_iso": moment.isoformat()})
    tick("writing", len(rows))
    return [(line, values["nik"]) for line, values in written]


# Rows per COPY into the staging table, with a tick (progress, a yield to the hub) between:
# COPY runs without eventlet's wait callback (capture.copy_expert), so one slice blocks the hub
# for the time PostgreSQL takes to read it (a few milliseconds).
WRITE_SLICE = 2_000
STAGE = "import_stage"
# What the staging table holds: the resident columns the file gives (ids, status and times
# are set by the statements below), and the row's line in the file.
_STAGED = tuple(column.key for column in Resident.__table__.columns
                if column.key not in ("id", "village_code", "status",
                                      "registered_at", "updated_at"))

_EMPTY_STAGED = dict.fromkeys(_STAGED)


def _json(value) -> str | None:
    return None if value is None else json.dumps(to_json_safe(value))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if value.__class__ is str:
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _stage(session: Session, written: list[tuple[int, dict]], tick: Tick) -> None:
    """The checked rows into a temporary table (dropped at the end of the transaction)."""
    session.execute(sa.text(f"DROP TABLE IF EXISTS pg_temp.{STAGE}"))
    session.execute(sa.text(
        f"CREATE TEMP TABLE {STAGE} ON COMMIT DROP AS "
        f"SELECT 0 AS line, {', '.join(_STAGED)} FROM residents WITH NO DATA"))
    cursor = session.connection().connection.dbapi_connection.cursor()
    cells = operator.itemgetter(*_STAGED)
    try:
        for first in range(0, len(written), WRITE_SLICE):
            text = "".join(
                f"{line}\t" + "\t".join(map(_copy_value, cells(values))) + "\n"
                for line, values in written[first:first + WRITE_SLICE])
            copy_expert(cursor, f"COPY {STAGE} (line, {', '.join(_STAGED)}) FROM STDIN",
                        io.StringIO(text))
            tick("writing", min(first + WRITE_SLICE, len(written)))
    finally:
        cursor.close()
    session.execute(sa.text(f"CREATE UNIQUE INDEX ON {STAGE} (line)"))
    session.execute(sa.text(f"ANALYZE {STAGE}"))


def _resident_values_sql(row: str) -> list[tuple[str, str]]:
    """(field, SQL expression) of `events.resident_state` of a freshly imported resident `row`
    but for address and warnings: made from the `Resident` schema's fields, so a field added
    there is added here (or refused, for a kind of field not handled)."""
    values = []
    for name in events.RESIDENT_COLUMNS:
        field = events.RESIDENT_SCHEMA.fields[name]
        if isinstance(field, ma_fields.DateTime):
            if name not in ("registered_at", "updated_at"):
                raise TypeError(f"no SQL for the imported value of {name}")
            expression = "CAST(:moment_iso AS text)"  # as Python's isoformat() writes it
        elif isinstance(field, ma_fields.Date):
            expression = f"to_char({row}.{name}, 'YYYY-MM-DD')"
        elif type(field) in (ma_fields.String, ma_fields.Integer, ma_fields.Boolean):
            expression = f"{row}.{name}"
        else:
            raise TypeError(f"no SQL for a {type(field).__name__} field ({name})")
        values.append((name, expression))
    return values


def _address_sql(row: str) -> str:
    return "jsonb_build_object(" + ", ".join(
        f"'{name}', {row}.{name}" for name in events.ADDRESS_COLUMNS) + ")"


def _resident_payload_sql(row: str) -> str:
    """`events.resident_state` of a freshly imported resident `row` as a jsonb expression."""
    pairs = ", ".join(f"'{name}', {expression}"
                      for name, expression in _resident_values_sql(row))
    # identity.record_warnings: a temporary number, or the NIK's district unknown and its
    # date part (DDMMYY, women's day + 40) beside the birth date.
    warnings = f"""CASE WHEN NOT {row}.has_nik
        THEN jsonb_build_array(CAST(:temporary_warning AS text))
        ELSE CASE WHEN substr({row}.nik, 1, 6) = ANY(CAST(:districts AS text[]))
                  THEN '[]'::jsonb
                  ELSE jsonb_build_array(replace(CAST(:district_warning AS text),
                                                 '{{district}}', substr({row}.nik, 1, 6)))
             END
             || CASE WHEN lpad((CAST(substr({row}.nik, 7, 2) AS int) % 40)::text, 2, '0')
                          || substr({row}.nik, 9, 4) = to_char({row}.birth_date, 'DDMMYY')
                     THEN '[]'::jsonb
                     ELSE jsonb_build_array(CAST(:birth_date_warning AS text))
                END
        END"""
    return (f"jsonb_build_object({pairs}, 'address', {_address_sql(row)}, "
            f"'warnings', {warnings})")


def _registration_changes_sql(row: str) -> str:
    """`records.registration_changes` of that payload: every value given, as [null, value]
    (the address always: it is an object of four keys, never empty)."""
    pairs = ", ".join(
        f"'{name}', CASE WHEN {expression} IS NULL THEN NULL "
        f"ELSE jsonb_build_array(NULL, {expression}) END"
        for name, expression in _resident_values_sql(row)
        if name not in ("registered_at", "updated_at"))
    return (f"jsonb_strip_nulls(jsonb_build_object({pairs})) || "
            f"jsonb_build_object('address', jsonb_build_array(NULL, {_address_sql(row)}))")


_RESIDENT_COLUMNS_SQL = ", ".join(_STAGED)
_WRITE_STATEMENTS = (
    f"""INSERT INTO residents ({_RESIDENT_COLUMNS_SQL}, village_code, status, registered_at,
                               updated_at)
        SELECT {_RESIDENT_COLUMNS_SQL}, :village, :alive, :moment, :moment
        FROM {STAGE} ORDER BY line""",
    # A card per No. KK, in the order of its first line; its head's address.
    f"""INSERT INTO families (number, village_code, head_id, dusun, rw, rt, street,
                              created_at, updated_at)
        SELECT s.family_number, :village, r.id, s.dusun, s.rw, s.rt, s.street, :moment, :moment
        FROM {STAGE} s JOIN residents r ON r.nik = s.nik
        JOIN (SELECT family_number, min(line) AS first_line FROM {STAGE}
              WHERE family_number IS NOT NULL GROUP BY family_number) f
          ON f.family_number = s.family_number
        WHERE s.relationship = :head ORDER BY f.first_line""",
    f"""INSERT INTO family_memberships (family_id, resident_id, relationship, valid_from,
                                        valid_to)
        SELECT f.id, r.id, s.relationship, :start, NULL
        FROM {STAGE} s JOIN residents r ON r.nik = s.nik
        JOIN families f ON f.number = s.family_number
        ORDER BY f.id, s.relationship, s.line""",
    # Each resident's event payload, kept for the history line and the event.
    f"""CREATE TEMP TABLE import_states ON COMMIT DROP AS
        SELECT s.line, r.id AS resident_id, r.nik, {_resident_payload_sql("r")} AS state,
               {_registration_changes_sql("r")} AS changes
        FROM {STAGE} s JOIN residents r ON r.nik = s.nik ORDER BY s.line""",
    """INSERT INTO resident_changes (resident_id, village_code, changed_at, actor, reason,
                                    changes)
       SELECT resident_id, :village, :moment, CAST(:actor AS jsonb), 'imported', changes
       FROM import_states ORDER BY line""",
    f"""INSERT INTO audit_log (at, village_code, subject_nik, action, purpose, actor_role,
                               actor_username, actor_nik, request_id)
        SELECT :moment, :village, nik, '{audit.CHANGE}', 'resident.imported', :actor_role,
               :actor_username, :actor_nik, NULL
        FROM import_states ORDER BY line""",
)
_RESIDENT_EVENTS = """SELECT :type AS type, :village AS village_code, nik AS aggregate_id,
                             state AS payload FROM import_states ORDER BY line"""
# events.family_state of a new card: its members by SHDK (then line), no history.
_FAMILY_EVENTS = f"""
    SELECT :type AS type, f.village_code, f.number AS aggregate_id, jsonb_build_object(
        'number', f.number, 'village_code', f.village_code, 'head_nik', h.nik,
        'address', jsonb_build_object('dusun', f.dusun, 'rw', f.rw, 'rt', f.rt,
                                      'street', f.street),
        'members', m.members, 'history', '[]'::jsonb,
        'updated_at', CAST(:moment_iso AS text)) AS payload
    FROM families f JOIN residents h ON h.id = f.head_id
    JOIN (SELECT family_number, jsonb_agg(jsonb_build_object(
                     'nik', nik, 'name', name, 'relationship', relationship,
                     'valid_from', CAST(:start_iso AS text), 'valid_to', NULL)
                     ORDER BY relationship, line) AS members
          FROM {STAGE} WHERE family_number IS NOT NULL GROUP BY family_number) m
      ON m.family_number = f.number
    ORDER BY f.id"""


def _take_temporary_numbers(session: Session, village_code: str, count: int) -> list[str]:
    """`count` new temporary village numbers, taken from the village's counter at once."""
    if not count:
        return []
    table = models.TemporaryNumberSequence.__table__
    statement = insert(table).values(village_code=village_code, last_serial=count)
    last = session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.village_code],
        set_={"last_serial": table.c.last_serial + count}).returning(table.c.last_serial)
    ).scalar_one()
    return [identity.temporary_number(village_code, serial)
            for serial in range(last - count + 1, last + 1)]


# -- jobs ----------------------------------------------------------------------------------------
def job_view(job: ImportJob) -> dict:
    """What a client sees of a job: never the CSV."""
    return to_json_safe({
        "id": str(job.id), "village_code": job.village_code, "status": job.status,
        "dry_run": job.dry_run,
        "progress": {"phase": job.phase, "rows_done": job.rows_done,
                     "rows_total": job.rows_total},
        "report": job.report, "error": job.error, "created_at": job.created_at,
        "started_at": job.started_at, "finished_at": job.finished_at,
    })


def start_import(session: Session, village_code: str, csv_text: str, dry_run: bool,
                 actor: dict | None) -> dict:
    """Record an import job; it runs in the background (run_next_job)."""
    records.village(session, village_code)
    if not isinstance(csv_text, str) or not csv_text.strip():
        raise ValidationFailed("The CSV file is empty.", fields={"file": ["Empty file."]})
    if isinstance(dry_run, str):
        dry_run = dry_run.strip().lower() in ("1", "true", "yes")
    job = ImportJob(id=uuid.uuid4(), village_code=village_code, status=QUEUED,
                    dry_run=bool(dry_run), csv_text=csv_text, phase=None,
                    rows_total=max(csv_text.strip().count("\n"), 1), rows_done=0, attempts=0,
                    created_by=records.actor_name(actor), created_at=clock.now())
    session.add(job)
    session.flush()
    return job_view(job)


def get_import(session: Session, job_id: str, scope: str | None) -> dict:
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound("Import job not found") from None
    job = session.get(ImportJob, key)
    if job is None or (scope is not None and job.village_code != scope):
        raise NotFound("Import job not found")
    return job_view(job)


def _claim(session: Session) -> ImportJob | None:
    now = clock.now()
    job = session.scalar(
        sa.select(ImportJob).where(sa.or_(
            ImportJob.status == QUEUED,
            sa.and_(ImportJob.status == RUNNING, ImportJob.heartbeat_at < now - STALE_AFTER)))
        .order_by(ImportJob.created_at).limit(1).with_for_update(skip_locked=True))
    if job is None:
        return None
    job.status, job.attempts, job.phase = RUNNING, job.attempts + 1, "parsing"
    job.started_at = job.heartbeat_at = now
    job.rows_done = 0
    return job


def run_next_job(session: Session, outbox: Outbox) -> str | None:
    """Claim the oldest waiting job and run it to its end; the job's id, or None if idle.

    Commits on its own (claim, progress, result): called from a timer, not inside
    `@transaction`.
    """
    job = _claim(session)
    if job is None:
        session.rollback()
        return None
    job_id, actor = job.id, {"username": job.created_by}
    session.commit()
    if job.attempts > MAX_ATTEMPTS:
        _finish(session, job_id, FAILED, error={
            "code": "internal_error",
            "message": f"The import stopped {MAX_ATTEMPTS} times; nothing imported."})
        return str(job_id)
    progress = Session(bind=session.get_bind())

    def tick(phase: str, rows: int) -> None:
        progress.execute(sa.update(ImportJob).where(ImportJob.id == job_id).values(
            phase=phase, rows_done=rows, heartbeat_at=clock.now()))
        progress.commit()
        eventlet.sleep(0)  # let other calls of this process run

    try:
        report = import_residents(session, outbox, job.village_code, job.csv_text,
                                  job.dry_run, actor, tick)
    except DesaError as exc:
        session.rollback()
        _finish(session, job_id, FAILED, error={"code": exc.code, "message": exc.message,
                                                "fields": exc.fields})
    except Exception:
        session.rollback()
        log.exception("import job failed", extra={"job": str(job_id)})
        _finish(session, job_id, FAILED, error={"code": "internal_error",
                                                "message": "The import failed; nothing "
                                                           "imported."})
    else:
        # The result lands in the import's own transaction: a job reads "succeeded" exactly
        # when its rows are committed.
        _finish(session, job_id, SUCCEEDED, report=report)
    finally:
        progress.close()
    return str(job_id)


def _finish(session: Session, job_id: uuid.UUID, status: str, report: dict | None = None,
            error: dict | None = None) -> None:
    job = session.get(ImportJob, job_id, populate_existing=True)
    job.status, job.phase, job.finished_at, job.csv_text = status, None, clock.now(), None
    job.report, job.error = to_json_safe(report), to_json_safe(error)
    if report is not None:
        job.rows_done = job.rows_total = report["rows"]
    session.commit()
