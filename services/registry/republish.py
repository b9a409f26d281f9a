"""Announce the registry's current state again, so consumers can rebuild their read models.

A consumer deployed, or restored, after the registry already holds data has missed the events
that would have built its read model. The registry is the source of truth and its events carry
the whole state, so publishing every village, resident and family card once more rebuilds any
read model. Consumers keep the newest state they know (by `updated_at`) and record each event id
once, so announcing again never rolls anything back.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from services.common.outbox import Outbox
from services.registry import events
from services.registry.models import Family, FamilyMembership, Resident, Village

BATCH = 1000


def republish(session: Session, outbox: Outbox, village_code: str | None = None) -> dict:
    """Write the current state of one village (or all) to the outbox (the caller's unit of work
    commits). Returns the counts."""
    counts = {"villages": 0, "residents": 0, "families": 0}
    villages = sa.select(Village).order_by(Village.code)
    if village_code is not None:
        villages = villages.where(Village.code == village_code)
    for village in session.scalars(villages):
        events.emit_village(session, outbox, village)
        counts["villages"] += 1

    residents = sa.select(Resident).order_by(Resident.id).execution_options(yield_per=BATCH)
    # Cards with their head and members loaded in a few queries per batch, not per card.
    families = sa.select(Family).order_by(Family.number).options(
        joinedload(Family.head),
        selectinload(Family.memberships).joinedload(FamilyMembership.resident),
    ).execution_options(yield_per=BATCH)
    if village_code is not None:
        residents = residents.where(Resident.village_code == village_code)
        families = families.where(Family.village_code == village_code)
    for chunk in session.scalars(residents).partitions():
        outbox.record_many(session, [
            {"type": events.RESIDENT_UPDATED, "village_code": r.village_code,
             "aggregate_id": r.nik, "payload": events.resident_state(r)} for r in chunk])
        counts["residents"] += len(chunk)
    for chunk in session.scalars(families).partitions():
        outbox.record_many(session, [
            {"type": events.FAMILY_UPDATED, "village_code": f.village_code,
             "aggregate_id": f.number, "payload": events.family_state(f)} for f in chunk])
        counts["families"] += len(chunk)
    return counts
