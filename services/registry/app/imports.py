"""Bulk import of residents from a village's spreadsheet (CSV): all rows or none."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import clock
from services.common.errors import Conflict, Unprocessable, ValidationFailed
from services.common.events import to_json_safe
from services.common.outbox import Outbox
from services.registry import csv_import, domain, events, identity, models
from services.registry.app import records, residents
from services.registry.models import Family, FamilyMembership, Resident, Village


def import_residents(session: Session, outbox: Outbox, village_code: str, csv_text: str,
                     dry_run: bool, actor: dict | None) -> dict:
    """Validate every row; write all of them (one transaction) or none. See csv_import.py."""
    village = records.village(session, village_code)
    if not isinstance(csv_text, str):
        raise ValidationFailed("CSV must be text", fields={"file": ["Send the CSV as text."]})
    if isinstance(dry_run, str):
        dry_run = dry_run.strip().lower() in ("1", "true", "yes")
    parsed = csv_import.parse(csv_text)
    rows, errors = parsed.rows, list(parsed.errors)
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
    _write_import(session, outbox, village, rows, families, actor)
    return report


def _write_import(session: Session, outbox: Outbox, village: Village,
                  rows: list[csv_import.Row], families: dict[str, list[csv_import.Row]],
                  actor: dict | None) -> None:
    """Bulk insert of checked rows: one flush for all rows, then history and events."""
    moment, start = clock.now(), clock.local_today()
    created: dict[int, Resident] = {}
    for row in rows:
        data = dict(row.data)
        address = data.pop("address", None)
        nik = data.pop("nik", None) or residents.next_temporary_number(session, village.code)
        created[row.line] = Resident(
            nik=nik, has_nik=not identity.is_temporary_number(nik), village_code=village.code,
            status=domain.ALIVE, registered_at=moment, updated_at=moment,
            **records.address_columns(address), **data)
    session.add_all(created.values())
    cards = []
    for number, members in families.items():
        head = next(r for r in members if r.data["relationship"] == domain.HEAD_OF_FAMILY)
        family = Family(number=number, village_code=village.code, created_at=moment,
                        updated_at=moment, head=created[head.line],
                        **records.address_columns(head.data.get("address")))
        for row in sorted(members, key=lambda r: r.data["relationship"]):
            FamilyMembership(family=family, resident=created[row.line],
                             relationship=row.data["relationship"], valid_from=start)
        session.add(family)
        cards.append(family)
    try:
        session.flush()
    except IntegrityError:
        # Rows were checked first; a clash here means someone registered them meanwhile.
        raise Conflict("A NIK or No. KK of the file was registered meanwhile; nothing imported",
                       fields={"file": ["Registered meanwhile; check the file again."]}) \
            from None
    history, emitted = [], []
    for resident in created.values():
        state = events.resident_state(resident)
        emitted.append({"type": events.RESIDENT_REGISTERED, "village_code": village.code,
                        "aggregate_id": resident.nik, "payload": state})
        history.append({"resident_id": resident.id, "village_code": village.code,
                        "changed_at": moment, "actor": actor, "reason": "imported",
                        "changes": to_json_safe(records.registration_changes(state))})
    emitted += [{"type": events.FAMILY_UPDATED, "village_code": village.code,
                 "aggregate_id": family.number, "payload": events.family_state(family)}
                for family in cards]
    session.execute(sa.insert(models.ResidentChange), history)
    outbox.record_many(session, emitted)
