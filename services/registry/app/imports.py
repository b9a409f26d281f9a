"""Bulk import of residents from a village's spreadsheet (CSV): all rows or none, as a job.

`start_import` records a job (the CSV with it) and answers at once; a registry process picks the
job up (`run_next_job`, from a timer; SKIP LOCKED, so any number of processes share the work),
reports progress as it parses, checks and writes, and records the report or the refusal. The
import itself is one transaction; progress is written beside it in short transactions of its
own, and the work yields to the hub every few hundred rows, so other calls keep flowing.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import eventlet
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import audit, clock
from services.common.errors import Conflict, DesaError, NotFound, Unprocessable, ValidationFailed
from services.common.events import to_json_safe
from services.common.outbox import Outbox
from services.registry import csv_import, domain, events, identity, models
from services.registry.app import records
from services.registry.models import Family, FamilyMembership, ImportJob, Resident, Village

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
    created = _write_import(session, outbox, village, rows, families, actor, tick)
    report["results"] = [{"line": line, "nik": resident.nik}
                         for line, resident in created.items()]
    return report


def _write_import(session: Session, outbox: Outbox, village: Village,
                  rows: list[csv_import.Row], families: dict[str, list[csv_import.Row]],
                  actor: dict | None, tick: Tick = _no_tick) -> dict[int, SimpleNamespace]:
    """Bulk insert of checked rows, set-based (decision 0096): ids are taken from the tables'
    sequences in one statement each, then residents, family cards, memberships, history lines
    and events go in as multi-row INSERTs of WRITE_SLICE rows, with a tick between slices. No
    ORM object is built: at 100,000 rows the unit of work cost more than everything else.
    The capture triggers see every row, as for any other insert."""
    moment, start = clock.now(), clock.local_today()
    resident_ids = _take_ids(session, Resident, len(rows))
    temporary = iter(_take_temporary_numbers(
        session, village.code, sum(1 for row in rows if not row.data.get("nik"))))
    created: dict[int, SimpleNamespace] = {}
    resident_rows = []
    for row, resident_id in zip(rows, resident_ids, strict=True):
        data = dict(row.data)
        address = data.pop("address", None)
        nik = data.pop("nik", None) or next(temporary)
        values = {**_EMPTY_RESIDENT, **data, **records.address_columns(address),
                  "id": resident_id, "nik": nik,
                  "has_nik": not identity.is_temporary_number(nik),
                  "village_code": village.code, "status": domain.ALIVE,
                  "registered_at": moment, "updated_at": moment}
        values["citizenship"] = values["citizenship"] or domain.CITIZENSHIPS[0]
        resident_rows.append(values)
        created[row.line] = SimpleNamespace(**values)
    family_ids = iter(_take_ids(session, Family, len(families)))
    membership_ids = iter(_take_ids(session, FamilyMembership, len(rows)))
    card_rows, membership_rows, cards = [], [], []
    for number, members in families.items():
        head = next(r for r in members if r.data["relationship"] == domain.HEAD_OF_FAMILY)
        family_id, memberships = next(family_ids), []
        for row in sorted(members, key=lambda r: r.data["relationship"]):
            membership_rows.append({"id": next(membership_ids), "family_id": family_id,
                                    "resident_id": created[row.line].id,
                                    "relationship": row.data["relationship"],
                                    "valid_from": start, "valid_to": None})
            memberships.append(SimpleNamespace(resident=created[row.line], valid_to=None,
                                               relationship=row.data["relationship"],
                                               valid_from=start))
        card = {"id": family_id, "number": number, "village_code": village.code,
                "head_id": created[head.line].id, "created_at": moment, "updated_at": moment,
                **records.address_columns(head.data.get("address"))}
        card_rows.append(card)
        cards.append(SimpleNamespace(**card, head=created[head.line], memberships=memberships))
    try:
        _insert_in_slices(session, Resident, resident_rows, tick)
        _insert_in_slices(session, Family, card_rows, tick)
        _insert_in_slices(session, FamilyMembership, membership_rows, tick)
    except IntegrityError:
        # Rows were checked first; a clash here means someone registered them meanwhile.
        raise Conflict("A NIK or No. KK of the file was registered meanwhile; nothing imported",
                       fields={"file": ["Registered meanwhile; check the file again."]}) \
            from None
    history, emitted = [], []
    for count, resident in enumerate(created.values(), 1):
        if count % csv_import.TICK_ROWS == 0:
            tick("writing", count)
        state = events.resident_state(resident)
        emitted.append({"type": events.RESIDENT_REGISTERED, "village_code": village.code,
                        "aggregate_id": resident.nik, "payload": state})
        history.append({"resident_id": resident.id, "village_code": village.code,
                        "changed_at": moment, "actor": actor, "reason": "imported",
                        "changes": to_json_safe(records.registration_changes(state))})
    emitted += [{"type": events.FAMILY_UPDATED, "village_code": village.code,
                 "aggregate_id": family.number, "payload": events.family_state(family)}
                for family in cards]
    _insert_in_slices(session, models.ResidentChange, history, tick)
    audit.record(session, [(resident.nik, village.code) for resident in created.values()],
                 actor=actor or {}, action=audit.CHANGE, purpose="resident.imported")
    for first in range(0, len(emitted), WRITE_SLICE):
        outbox.record_many(session, emitted[first:first + WRITE_SLICE])
        tick("writing", len(rows))
    return created


# Rows per INSERT statement batch, with a tick (progress, a yield to the hub) between batches.
WRITE_SLICE = 2_000
_EMPTY_RESIDENT = {column.key: None for column in Resident.__table__.columns}


def _take_ids(session: Session, model: type, count: int) -> list[int]:
    """`count` ids from `model`'s identity sequence, in one statement."""
    if not count:
        return []
    table = model.__table__.name
    return list(session.scalars(
        sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                "FROM generate_series(1, :count)"), {"table": table, "count": count}))


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


def _insert_in_slices(session: Session, model: type, rows: list[dict], tick: Tick) -> None:
    table = model.__table__
    for first in range(0, len(rows), WRITE_SLICE):
        session.execute(sa.insert(table), rows[first:first + WRITE_SLICE])
        tick("writing", min(first + WRITE_SLICE, len(rows)))


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
