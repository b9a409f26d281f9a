"""Registry events: their names, the state-carrying payloads (also the RPC return values) and
one `emit_<aggregate>` per aggregate, which writes the event into the outbox."""
from __future__ import annotations

from sqlalchemy.orm import Session

from services.common.outbox import Outbox
from services.registry import domain, identity, models
from services.registry.reference import district_prefixes
from services.registry.schemas.families import Family
from services.registry.schemas.residents import LifeEvent, Resident
from services.registry.schemas.villages import Village

VILLAGE_UPDATED = "village.updated"
RESIDENT_REGISTERED = "resident.registered"
RESIDENT_UPDATED = "resident.updated"
RESIDENT_DIED = "resident.died"
RESIDENT_MOVED_OUT = "resident.moved_out"
RESIDENT_MOVED_IN = "resident.moved_in"
FAMILY_UPDATED = "family.updated"

# The event a life event emits about the resident it happened to (a birth registers the child).
LIFE_EVENT_TYPES = {
    domain.BIRTH: RESIDENT_REGISTERED,
    domain.DEATH: RESIDENT_DIED,
    domain.MOVE_OUT: RESIDENT_MOVED_OUT,
    domain.MOVE_IN: RESIDENT_MOVED_IN,
    domain.DISAPPEARANCE: RESIDENT_UPDATED,
}

_VILLAGE = Village()
_RESIDENT = RESIDENT_SCHEMA = Resident()
_FAMILY = Family()
_LIFE_EVENT = LifeEvent()

VILLAGE_COLUMNS = tuple(_VILLAGE.fields)
RESIDENT_COLUMNS = tuple(name for name in _RESIDENT.fields
                         if name not in ("address", "warnings"))
ADDRESS_COLUMNS = ("dusun", "rw", "rt", "street")


def village_state(village: models.Village) -> dict:
    return _VILLAGE.dump({name: getattr(village, name) for name in VILLAGE_COLUMNS})


def resident_state(resident: models.Resident) -> dict:
    data = {name: getattr(resident, name) for name in RESIDENT_COLUMNS}
    data["address"] = {name: getattr(resident, name) for name in ADDRESS_COLUMNS}
    data["warnings"] = identity.record_warnings(resident.nik, birth_date=resident.birth_date,
                                              known_districts=district_prefixes())
    return _RESIDENT.dump(data)


def _member(membership: models.FamilyMembership) -> dict:
    return {"nik": membership.resident.nik, "name": membership.resident.name,
            "relationship": membership.relationship, "valid_from": membership.valid_from,
            "valid_to": membership.valid_to}


def family_state(family: models.Family) -> dict:
    return _FAMILY.dump({
        "number": family.number,
        "village_code": family.village_code,
        "head_nik": family.head.nik if family.head is not None else None,
        "address": {name: getattr(family, name) for name in ADDRESS_COLUMNS},
        "members": [_member(m) for m in family.memberships if m.valid_to is None],
        "history": [_member(m) for m in family.memberships if m.valid_to is not None],
        "updated_at": family.updated_at,
    })


def life_event_state(event: models.LifeEvent, nik: str) -> dict:
    return _LIFE_EVENT.dump({
        "id": event.id, "type": event.type, "nik": nik, "village_code": event.village_code,
        "date": event.event_date, "reported_at": event.reported_on, "details": event.details,
        "actor": event.actor, "recorded_at": event.recorded_at,
    })


def emit_village(session: Session, outbox: Outbox, village: models.Village) -> dict:
    state = village_state(village)
    outbox.record(session, VILLAGE_UPDATED, village_code=village.code, aggregate_id=village.code,
                  payload=state)
    return state


def emit_resident(session: Session, outbox: Outbox, event_type: str, resident: models.Resident,
                  previous_nik: str | None = None) -> dict:
    """`previous_nik`: a temporary number replaced by the NIK, so consumers keyed by number
    learn it is one person."""
    state = resident_state(resident)
    payload = state if previous_nik is None else {**state, "previous_nik": previous_nik}
    outbox.record(session, event_type, village_code=resident.village_code,
                  aggregate_id=resident.nik, payload=payload)
    return state


def emit_family(session: Session, outbox: Outbox, family: models.Family) -> dict:
    session.flush()
    session.refresh(family, ["memberships"])
    state = family_state(family)
    outbox.record(session, FAMILY_UPDATED, village_code=family.village_code,
                  aggregate_id=family.number, payload=state)
    return state
