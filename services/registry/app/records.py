"""Loading villages and residents within the caller's scope, and writing a record's history."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import audit, clock
from services.common.errors import NotFound
from services.common.events import to_json_safe
from services.common.tenancy import one_in_scope
from services.registry import events, models
from services.registry.models import Resident, Village


def actor_name(actor: dict | None) -> str | None:
    if not actor:
        return None
    return actor.get("username") or actor.get("nik") or actor.get("role")


def village(session: Session, code: str, *, lock: bool = False) -> Village:
    query = sa.select(Village).where(Village.code == code)
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound(f"Village {code} not found")
    return found


def resident(session: Session, nik: str, scope: str | None, *, lock: bool = False) -> Resident:
    return one_in_scope(session, sa.select(Resident).where(Resident.nik == nik), scope,
                        "Resident", lock=lock)


def address_columns(address: dict | None) -> dict:
    address = address or {}
    return {name: address.get(name) for name in events.ADDRESS_COLUMNS}


def record_change(session: Session, resident: Resident, changes: dict, actor: dict | None,
                  reason: str) -> None:
    """A line of the record's history: {field: [old, new]}, who and why; and of the audit log."""
    session.add(models.ResidentChange(
        resident_id=resident.id, village_code=resident.village_code, changed_at=clock.now(),
        actor=actor, reason=reason, changes=to_json_safe(changes)))
    audit.record(session, [(resident.nik, resident.village_code)], actor=actor or {},
                 action=audit.CHANGE, purpose=f"resident.{reason}")


def registration_changes(state: dict) -> dict:
    """The first history line of a record: every value given, as [None, value]."""
    return {name: [None, value] for name, value in state.items()
            if value not in (None, [], {}) and name not in ("registered_at", "updated_at",
                                                            "warnings")}
