"""Mutasi penduduk: births, deaths, moving out and in, disappearances."""
from __future__ import annotations

from sqlalchemy.orm import Session

from services.common import clock
from services.common.fields import load
from services.common.outbox import Outbox
from services.registry import domain, events, models
from services.registry.app import families, records, residents
from services.registry.models import Resident
from services.registry.schemas.residents import LifeEventInput

_EVENT_DETAILS = ("time", "place", "cause", "reporter", "reporter_nik", "reporter_relation",
                  "destination", "destination_village_code", "origin", "origin_village_code",
                  "reason", "circumstances", "note")


def _birth(session: Session, outbox: Outbox, parent: Resident, event: dict,
           actor: dict | None) -> Resident:
    """Register the newborn of `parent`; defaults come from the parent and the event."""
    child = domain.newborn(event["child"], event["date"], {
        "nik": parent.nik, "name": parent.name, "sex": parent.sex,
        "family_number": parent.family_number, "relationship": parent.relationship,
        "address": {name: getattr(parent, name) for name in events.ADDRESS_COLUMNS}})
    village = records.village(session, parent.village_code)
    resident = residents.new_resident(session, village, child, actor, within="child")
    family = None
    if child.get("family_number"):
        family = families.place(session, resident, child["family_number"],
                                child["relationship"], actor)
    events.emit_resident(session, outbox, events.RESIDENT_REGISTERED, resident)
    if family is not None:
        events.emit_family(session, outbox, family)
    return resident


def record_life_event(session: Session, outbox: Outbox, nik: str, event: dict,
                      scope: str | None, actor: dict | None) -> dict:
    resident = records.resident(session, nik, scope, lock=True)
    data = load(LifeEventInput(), event)
    today = clock.local_today()
    reported_on = data["reported_at"] or today
    domain.check_event_dates(data["date"], reported_on, today)
    new_status = domain.status_after(resident.status, data["type"])
    details = {name: data[name] for name in _EVENT_DETAILS if data.get(name) is not None}
    if data["type"] == domain.BIRTH:
        subject = _birth(session, outbox, resident, data, actor)
        details["parent_nik"] = resident.nik
    else:
        subject = resident
        old_status = resident.status
        resident.status = new_status
        resident.updated_at = clock.now()
        session.flush()
        records.record_change(session, resident, {"status": [old_status, new_status]}, actor,
                              data["type"])
    life_event = models.LifeEvent(
        resident_id=subject.id, village_code=subject.village_code, type=data["type"],
        event_date=data["date"], reported_on=reported_on, details=details, actor=actor,
        recorded_at=clock.now())
    session.add(life_event)
    session.flush()
    if data["type"] == domain.BIRTH:
        state = events.resident_state(subject)
    else:
        state = events.emit_resident(session, outbox, events.LIFE_EVENT_TYPES[data["type"]],
                                     subject)
    return {"event": events.life_event_state(life_event, subject.nik), "resident": state}
