"""Kartu Keluarga: registering a card, joining and leaving it."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.common.errors import Conflict, NotFound, Unprocessable, ValidationFailed
from services.common.fields import load
from services.common.outbox import Outbox
from services.common.tenancy import one_in_scope
from services.registry import domain, events
from services.registry.app import reads, records
from services.registry.models import Family, FamilyMembership, Resident
from services.registry.schemas.families import EndMembershipInput, FamilyInput, FamilyMemberInput


def family(session: Session, number: str, scope: str | None, *, lock: bool = False) -> Family:
    return one_in_scope(session, sa.select(Family).where(Family.number == number), scope,
                        "Family card", lock=lock)


def _open_membership(session: Session, resident: Resident) -> FamilyMembership | None:
    return session.scalar(sa.select(FamilyMembership).where(
        FamilyMembership.resident_id == resident.id, FamilyMembership.valid_to.is_(None)))


def join(session: Session, card: Family, resident: Resident, relationship: int,
         valid_from: date, actor: dict | None, *, field: str = "nik") -> None:
    """Make `resident` a member; the caller emits the resident and family events."""
    domain.check_may_join(resident_village=resident.village_code,
                          resident_status=resident.status, family_village=card.village_code,
                          in_another_family=_open_membership(session, resident) is not None,
                          field=field)
    if domain.check_head(relationship, card.head_id, resident.id):
        card.head = resident
    session.add(FamilyMembership(family=card, resident=resident, relationship=relationship,
                                 valid_from=valid_from))
    old = (resident.family_number, resident.relationship)
    resident.family_number, resident.relationship = card.number, relationship
    resident.updated_at = card.updated_at = clock.now()
    session.flush()
    records.record_change(session, resident, {"family_number": [old[0], card.number],
                                              "relationship": [old[1], relationship]},
                          actor, "family_joined")


def place(session: Session, resident: Resident, number: str, relationship: int,
          actor: dict | None) -> Family:
    """A new resident registered with a No. KK: join that card, or start it as its head."""
    card = session.scalar(sa.select(Family).where(Family.number == number).with_for_update())
    if card is None:
        if relationship != domain.HEAD_OF_FAMILY:
            raise Unprocessable(
                "No family card with this number in this village",
                fields={"family_number": ["No such family card: register its head "
                                          "(relationship 1) first."]})
        moment = clock.now()
        card = Family(number=number, village_code=resident.village_code,
                      created_at=moment, updated_at=moment,
                      **{name: getattr(resident, name) for name in events.ADDRESS_COLUMNS})
        session.add(card)
    elif card.village_code != resident.village_code:
        raise Conflict("The family card belongs to another village",
                       fields={"family_number": ["Family card of another village."]})
    join(session, card, resident, relationship, clock.local_today(), actor,
         field="family_number")
    return card


def _village_resident(session: Session, nik: str, village_code: str, field: str) -> Resident:
    resident = session.scalar(sa.select(Resident).where(Resident.nik == nik).with_for_update())
    if resident is None or resident.village_code != village_code:
        raise Unprocessable("No resident with this NIK in the village",
                            fields={field: ["No resident with this NIK in the village."]})
    return resident


def register_family(session: Session, outbox: Outbox, village_code: str, data: dict,
                    actor: dict | None) -> dict:
    village = records.village(session, village_code)
    payload = load(FamilyInput(), data)
    if session.scalar(sa.select(sa.func.count()).where(Family.number == payload["number"])):
        raise Conflict(f"Family card {payload['number']} is already registered",
                       fields={"number": ["This No. KK is already registered."]})
    head = _village_resident(session, payload["head_nik"], village.code, "head_nik")
    address = payload["address"] or {name: getattr(head, name)
                                      for name in events.ADDRESS_COLUMNS}
    moment = clock.now()
    card = Family(number=payload["number"], village_code=village.code, created_at=moment,
                  updated_at=moment, **records.address_columns(address))
    session.add(card)
    valid_from = payload["valid_from"] or clock.local_today()
    joined = [head]
    join(session, card, head, domain.HEAD_OF_FAMILY, valid_from, actor, field="head_nik")
    for index, member in enumerate(payload["members"]):
        field = f"members.{index}.nik"
        resident = _village_resident(session, member["nik"], village.code, field)
        join(session, card, resident, member["relationship"],
             member["valid_from"] or valid_from, actor, field=field)
        joined.append(resident)
    for resident in joined:
        events.emit_resident(session, outbox, events.RESIDENT_UPDATED, resident)
    return events.emit_family(session, outbox, card)


def get_family(session: Session, number: str, scope: str | None, actor: dict | None = None,
               request_id: str | None = None) -> dict:
    """The card with its members; everyone it names (past members too) gets a log line."""
    card = family(session, number, scope)
    named = {m.resident.id: m.resident for m in card.memberships}
    reads.record_reads(session, named.values(), actor, reads.FAMILY_PURPOSE, request_id)
    return events.family_state(card)


def add_family_member(session: Session, outbox: Outbox, number: str, member: dict,
                      scope: str | None, actor: dict | None) -> dict:
    card = family(session, number, scope, lock=True)
    payload = load(FamilyMemberInput(), member)
    resident = _village_resident(session, payload["nik"], card.village_code, "nik")
    join(session, card, resident, payload["relationship"],
         payload["valid_from"] or clock.local_today(), actor)
    events.emit_resident(session, outbox, events.RESIDENT_UPDATED, resident)
    return events.emit_family(session, outbox, card)


def end_family_membership(session: Session, outbox: Outbox, number: str, nik: str,
                          valid_to: str | date, scope: str | None, actor: dict | None) -> dict:
    card = family(session, number, scope, lock=True)
    payload = load(EndMembershipInput(), {
        "nik": nik, "valid_to": valid_to.isoformat() if isinstance(valid_to, date) else valid_to})
    membership = session.scalar(
        sa.select(FamilyMembership).join(Resident).where(
            FamilyMembership.family_id == card.id, Resident.nik == payload["nik"],
            FamilyMembership.valid_to.is_(None)).with_for_update(of=FamilyMembership))
    if membership is None:
        raise NotFound("The resident is not a current member of this family card")
    if payload["valid_to"] < membership.valid_from:
        raise ValidationFailed("Membership cannot end before it started",
                               fields={"valid_to": ["Before valid_from."]})
    membership.valid_to = payload["valid_to"]
    resident = membership.resident
    if card.head_id == resident.id:
        card.head = None  # the card stays as history; a new card gets the new head
    old = (resident.family_number, resident.relationship)
    resident.family_number = resident.relationship = None
    resident.updated_at = card.updated_at = clock.now()
    session.flush()
    records.record_change(session, resident, {"family_number": [old[0], None],
                                              "relationship": [old[1], None]}, actor,
                          "family_left")
    events.emit_resident(session, outbox, events.RESIDENT_UPDATED, resident)
    return events.emit_family(session, outbox, card)
