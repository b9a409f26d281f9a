"""Registry application services: load, decide, save; each change commits its rows and events.

Every function takes a SQLAlchemy Session (and an Outbox when it changes state), so the nameko
service, the CLI and the seed step share one implementation. A function that changes state
commits before it returns; on any error it rolls back, so bad input changes nothing.
"""
from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.errors import (
    Conflict,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
    Unprocessable,
    ValidationFailed,
)
from services.common.events import to_json_safe
from services.common.outbox import Outbox
from services.common.pagination import fetch_page
from services.registry import csv_import, domain, events, models, schemas
from services.registry.models import Family, FamilyMembership, Resident, Village

SERVICE_NAME = "registry"
PIN_MAX_FAILURES = 5
PIN_LOCK = timedelta(minutes=15)
# Why a record was read, as the access log says it (a caller may name its own, see Reader).
READ_PURPOSE = "resident.read"
HISTORY_PURPOSE = "resident.history"
SEARCH_PURPOSE = "resident.search"
FAMILY_PURPOSE = "family.read"
REQUEST_ID_MAX = 128

_hasher = PasswordHasher()
_READ = schemas.ResidentRead()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username or NIK is unknown, so both cases take as long."""
    return _hasher.hash(secrets.token_urlsafe(16))


def make_outbox() -> Outbox:
    return Outbox(SERVICE_NAME, models.outbox)


def now() -> datetime:
    return datetime.now(UTC)


# -- plumbing ------------------------------------------------------------------------------------
def transactional(fn):
    """Commit when the function returns, roll back when it raises."""

    @functools.wraps(fn)
    def wrapper(session: Session, *args, **kwargs):
        try:
            result = fn(session, *args, **kwargs)
            session.commit()
            return result
        except BaseException:
            session.rollback()
            raise

    return wrapper


def load(schema: Schema, data) -> dict:
    """Validate with a contract schema; marshmallow errors become ValidationFailed with fields."""
    if not isinstance(data, dict):
        raise ValidationFailed("Input must be an object", fields={"_schema": ["Not an object."]})
    try:
        return schema.load(data)
    except SchemaError as exc:
        raise ValidationFailed("Invalid input", fields=exc.messages) from None


def rule_failed(exc: domain.RegistryRuleError, *, within: str | None = None) -> ValidationFailed:
    """A domain refusal as a field error; `within` nests it ({"child": {"sex": [...]}})."""
    fields = {exc.field: [exc.message]}
    return ValidationFailed(exc.message, fields={within: fields} if within else fields)


def _actor_name(actor: dict | None) -> str | None:
    if not actor:
        return None
    return actor.get("username") or actor.get("nik") or actor.get("role")


def _record_change(session: Session, resident: Resident, changes: dict, actor: dict | None,
                   reason: str) -> None:
    session.add(models.ResidentChange(
        resident_id=resident.id, village_code=resident.village_code, changed_at=now(),
        actor=actor, reason=reason, changes=to_json_safe(changes)))


def _emit_resident(session: Session, outbox: Outbox, event_type: str, resident: Resident,
                   previous_nik: str | None = None) -> dict:
    state = events.resident_state(resident)
    # A temporary number replaced by the NIK: consumers keyed by number learn it is one person.
    payload = state if previous_nik is None else {**state, "previous_nik": previous_nik}
    outbox.record(session, event_type, village_code=resident.village_code,
                  aggregate_id=resident.nik, payload=payload)
    return state


def _emit_family(session: Session, outbox: Outbox, family: Family) -> dict:
    session.flush()
    session.refresh(family, ["memberships"])
    state = events.family_state(family)
    outbox.record(session, events.FAMILY_UPDATED, village_code=family.village_code,
                  aggregate_id=family.number, payload=state)
    return state


def _record_reads(session: Session, residents: Iterable[Resident], actor: dict | None,
                  purpose: str, request_id: str | None) -> None:
    """Log that `actor` read these residents' records (UU 27/2022 PDP), in one insert.

    Called inside the read's own transaction, so a record is never returned unlogged. Not an
    event: the outbox would copy who-read-whom to every consumer. Without an actor (internal
    callers such as the CLI) nothing is logged.
    """
    if actor is None:
        return
    if not isinstance(actor, dict):
        raise ValidationFailed("Invalid actor", fields={"actor": ["Not an object."]})
    try:
        reader = schemas.Reader().load(actor)
    except SchemaError as exc:
        raise ValidationFailed("Invalid actor", fields={"actor": exc.messages}) from None
    moment = now()
    rows = [{"nik": resident.nik, "village_code": resident.village_code,
             "actor_role": reader["role"], "actor_username": reader["username"],
             "actor_nik": reader["nik"], "purpose": reader["purpose"] or purpose,
             "read_at": moment,
             "request_id": request_id[:REQUEST_ID_MAX] if request_id else None}
            for resident in residents]
    if rows:
        session.execute(sa.insert(models.ResidentRead), rows)


# -- villages ------------------------------------------------------------------------------------
def _village(session: Session, code: str, *, lock: bool = False) -> Village:
    query = sa.select(Village).where(Village.code == code)
    village = session.scalar(query.with_for_update() if lock else query)
    if village is None:
        raise NotFound(f"Village {code} not found")
    return village


def list_villages(session: Session, district_code: str | None = None, page: int = 1,
                  per_page: int = 50) -> dict:
    args = load(schemas.VillageListArgs(), {"district_code": district_code, "page": page,
                                            "per_page": per_page})
    query = sa.select(Village).order_by(Village.code)
    if args["district_code"]:
        query = query.where(Village.district_code == args["district_code"])
    items, total = fetch_page(session, query, args["page"], args["per_page"])
    return {"items": [events.village_state(v) for v in items], "total": total,
            "page": args["page"], "per_page": args["per_page"]}


def get_village(session: Session, code: str) -> dict:
    return events.village_state(_village(session, code))


@transactional
def update_village(session: Session, outbox: Outbox, code: str, changes: dict,
                   actor: dict | None) -> dict:
    village = _village(session, code, lock=True)
    settings = load(schemas.VillageSettingsUpdate(), changes)
    changed = {name: value for name, value in settings.items()
               if getattr(village, name) != value}
    if not changed:
        return events.village_state(village)
    for name, value in changed.items():
        setattr(village, name, value)
    village.updated_at = now()
    state = events.village_state(village)
    outbox.record(session, events.VILLAGE_UPDATED, village_code=village.code,
                  aggregate_id=village.code, payload=state)
    return state


# -- residents -----------------------------------------------------------------------------------
def _resident(session: Session, nik: str, scope: str | None, *, lock: bool = False) -> Resident:
    query = sa.select(Resident).where(Resident.nik == nik)
    resident = session.scalar(query.with_for_update() if lock else query)
    # Another village's resident is reported as absent, not forbidden: no existence leak.
    if resident is None or (scope is not None and resident.village_code != scope):
        raise NotFound("Resident not found")
    return resident


def _next_temporary_number(session: Session, village_code: str) -> str:
    table = models.TemporaryNumberSequence.__table__
    statement = insert(table).values(village_code=village_code, last_serial=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.village_code],
        set_={"last_serial": table.c.last_serial + 1}).returning(table.c.last_serial)
    return domain.temporary_number(village_code, session.execute(statement).scalar_one())


def _ensure_new_nik(session: Session, nik: str) -> None:
    if session.scalar(sa.select(sa.func.count()).where(Resident.nik == nik)):
        raise Conflict("This NIK is already registered",
                       fields={"nik": ["A resident with this NIK is already registered."]})


def _address_columns(address: dict | None) -> dict:
    address = address or {}
    return {name: address.get(name) for name in events.ADDRESS_COLUMNS}


def _new_resident(session: Session, village: Village, data: dict, actor: dict | None,
                  *, within: str | None = None) -> Resident:
    """Insert a validated resident (no event yet). NIK rules run again with the district list."""
    data = dict(data)
    data.pop("family_number", None)
    data.pop("relationship", None)
    nik = data.pop("nik", None)
    address = data.pop("address", None)
    if nik:
        try:
            domain.check_nik(nik, sex=data["sex"], birth_date=data["birth_date"])
        except domain.RegistryRuleError as exc:
            raise rule_failed(exc, within=within) from None
        _ensure_new_nik(session, nik)
    else:
        nik = _next_temporary_number(session, village.code)
    moment = now()
    resident = Resident(nik=nik, has_nik=not domain.is_temporary_number(nik),
                        village_code=village.code, status=domain.ALIVE, registered_at=moment,
                        updated_at=moment, **_address_columns(address), **data)
    session.add(resident)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("This NIK is already registered",
                       fields={"nik": ["A resident with this NIK is already registered."]}) \
            from None
    _record_change(session, resident, _registration_changes(events.resident_state(resident)),
                   actor, "registered")
    return resident


def _registration_changes(state: dict) -> dict:
    """The first history line of a record: every value given, as [None, value]."""
    return {name: [None, value] for name, value in state.items()
            if value not in (None, [], {}) and name not in ("registered_at", "updated_at",
                                                            "warnings")}


def _open_membership(session: Session, resident: Resident) -> FamilyMembership | None:
    return session.scalar(sa.select(FamilyMembership).where(
        FamilyMembership.resident_id == resident.id, FamilyMembership.valid_to.is_(None)))


def _join_family(session: Session, family: Family, resident: Resident, relationship: int,
                 valid_from: date, actor: dict | None, *, field: str = "nik") -> None:
    """Make `resident` a member; the caller emits the resident and family events."""
    if resident.village_code != family.village_code:
        raise Unprocessable("The resident lives in another village",
                            fields={field: ["Resident of another village."]})
    if resident.status != domain.ALIVE:
        raise Unprocessable(f"The resident is {resident.status}",
                            fields={field: [f"Resident is {resident.status}."]})
    current = _open_membership(session, resident)
    if current is not None:
        raise Conflict("The resident is already a member of another family card",
                       fields={field: ["Already a member of another family card; end that "
                                       "membership first."]})
    if relationship == domain.HEAD_OF_FAMILY:
        if family.head_id is not None and family.head_id != resident.id:
            raise Conflict("The family already has a head",
                           fields={"relationship": ["The family already has a head (SHDK 1)."]})
        family.head = resident
    session.add(FamilyMembership(family=family, resident=resident, relationship=relationship,
                                 valid_from=valid_from))
    old = (resident.family_number, resident.relationship)
    resident.family_number, resident.relationship = family.number, relationship
    resident.updated_at = family.updated_at = now()
    session.flush()
    _record_change(session, resident, {"family_number": [old[0], family.number],
                                       "relationship": [old[1], relationship]},
                   actor, "family_joined")


def _family(session: Session, number: str, scope: str | None, *, lock: bool = False) -> Family:
    query = sa.select(Family).where(Family.number == number)
    family = session.scalar(query.with_for_update() if lock else query)
    if family is None or (scope is not None and family.village_code != scope):
        raise NotFound("Family card not found")
    return family


def _place_in_family(session: Session, resident: Resident, number: str, relationship: int,
                     actor: dict | None) -> Family:
    """A new resident registered with a No. KK: join that card, or start it as its head."""
    family = session.scalar(sa.select(Family).where(Family.number == number).with_for_update())
    if family is None:
        if relationship != domain.HEAD_OF_FAMILY:
            raise Unprocessable(
                "No family card with this number in this village",
                fields={"family_number": ["No such family card: register its head "
                                          "(relationship 1) first."]})
        moment = now()
        family = Family(number=number, village_code=resident.village_code,
                        created_at=moment, updated_at=moment,
                        **{name: getattr(resident, name) for name in events.ADDRESS_COLUMNS})
        session.add(family)
    elif family.village_code != resident.village_code:
        raise Conflict("The family card belongs to another village",
                       fields={"family_number": ["Family card of another village."]})
    _join_family(session, family, resident, relationship, domain.local_today(), actor,
                 field="family_number")
    return family


@transactional
def register_resident(session: Session, outbox: Outbox, village_code: str, data: dict,
                      actor: dict | None) -> dict:
    village = _village(session, village_code)
    payload = load(schemas.ResidentInput(), data)
    resident = _new_resident(session, village, payload, actor)
    family = None
    if payload.get("family_number"):
        family = _place_in_family(session, resident, payload["family_number"],
                                  payload["relationship"], actor)
    state = _emit_resident(session, outbox, events.RESIDENT_REGISTERED, resident)
    if family is not None:
        _emit_family(session, outbox, family)
    return state


@transactional
def get_resident(session: Session, nik: str, scope: str | None, actor: dict | None = None,
                 request_id: str | None = None) -> dict:
    resident = _resident(session, nik, scope)
    _record_reads(session, [resident], actor, READ_PURPOSE, request_id)
    return events.resident_state(resident)


def _replace_temporary_number(session: Session, outbox: Outbox, resident: Resident, nik: str,
                              merged: dict, actor: dict | None) -> None:
    if resident.has_nik:
        raise Unprocessable("A NIK never changes",
                            fields={"nik": ["The NIK of a record never changes; only a temporary "
                                            "village number is replaced, once."]})
    try:
        domain.check_nik(nik, sex=merged["sex"], birth_date=merged["birth_date"])
    except domain.RegistryRuleError as exc:
        raise rule_failed(exc) from None
    _ensure_new_nik(session, nik)
    old = resident.nik
    resident.nik, resident.has_nik = nik, True
    # The access log is keyed by number: the person keeps seeing who read them before.
    session.execute(sa.update(models.ResidentRead).where(models.ResidentRead.nik == old)
                    .values(nik=nik))
    # Children registered with the temporary number as a parent's number now point at the NIK.
    for column in ("father_nik", "mother_nik"):
        children = session.scalars(sa.select(Resident).where(
            getattr(Resident, column) == old).with_for_update()).all()
        for child in children:
            setattr(child, column, nik)
            child.updated_at = now()
            session.flush()
            _record_change(session, child, {column: [old, nik]}, actor, "parent_nik_issued")
            _emit_resident(session, outbox, events.RESIDENT_UPDATED, child)


@transactional
def update_resident(session: Session, outbox: Outbox, nik: str, changes: dict,
                    scope: str | None, actor: dict | None) -> dict:
    resident = _resident(session, nik, scope, lock=True)
    payload = load(schemas.ResidentUpdate(), changes)
    new_nik = payload.pop("nik", None)
    address = payload.pop("address", None) or {}
    proposed = {**payload, **address}
    merged = {name: proposed.get(name, getattr(resident, name))
              for name in ("sex", "birth_date")}
    diff = {name: [getattr(resident, name), value] for name, value in proposed.items()
            if getattr(resident, name) != value}
    if resident.has_nik and "sex" in diff:
        # The day of the NIK says the sex; a record cannot disagree with its own NIK.
        try:
            domain.check_nik(resident.nik, sex=merged["sex"])
        except domain.RegistryRuleError as exc:
            raise rule_failed(exc) from None
    if new_nik and new_nik != resident.nik:
        diff["nik"] = [resident.nik, new_nik]
        diff["has_nik"] = [resident.has_nik, True]
        _replace_temporary_number(session, outbox, resident, new_nik, merged, actor)
    if not diff:
        return events.resident_state(resident)
    for name, value in proposed.items():
        setattr(resident, name, value)
    resident.updated_at = now()
    session.flush()
    _record_change(session, resident, diff, actor, "updated")
    state = _emit_resident(session, outbox, events.RESIDENT_UPDATED, resident,
                           previous_nik=diff["nik"][0] if "nik" in diff else None)
    if "nik" in diff and resident.family_number:
        # The card lists its members by NIK.
        family = session.scalar(sa.select(Family).where(Family.number == resident.family_number))
        if family is not None:
            _emit_family(session, outbox, family)
    return state


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@transactional
def search_residents(session: Session, village_code: str | None, q: str | None = None,
                     dusun: str | None = None, rw: str | None = None, rt: str | None = None,
                     status: str | None = None, page: int = 1, per_page: int = 20,
                     actor: dict | None = None, request_id: str | None = None) -> dict:
    """One page of residents; each resident on it gets an access-log line."""
    args = load(schemas.ResidentSearchArgs(), {
        "q": q, "dusun": dusun, "rw": rw, "rt": rt, "status": status, "page": page,
        "per_page": per_page})
    query = sa.select(Resident).order_by(sa.func.lower(Resident.name), Resident.id)
    if village_code is not None:
        _village(session, village_code)
        query = query.where(Resident.village_code == village_code)
    text = (args["q"] or "").strip()
    if text:
        pattern = _like_escape(text)
        query = query.where(sa.or_(
            sa.func.lower(Resident.name).like(f"%{pattern.lower()}%", escape="\\"),
            Resident.nik.like(f"{pattern}%", escape="\\")))
    if args["dusun"]:
        query = query.where(sa.func.lower(Resident.dusun) == args["dusun"].strip().lower())
    for name in ("rw", "rt", "status"):
        if args[name]:
            query = query.where(getattr(Resident, name) == args[name])
    items, total = fetch_page(session, query, args["page"], args["per_page"])
    _record_reads(session, items, actor, SEARCH_PURPOSE, request_id)
    return {"items": [events.resident_state(r) for r in items], "total": total,
            "page": args["page"], "per_page": args["per_page"]}


@transactional
def resident_history(session: Session, nik: str, scope: str | None, actor: dict | None = None,
                     request_id: str | None = None) -> list[dict]:
    resident = _resident(session, nik, scope)
    _record_reads(session, [resident], actor, HISTORY_PURPOSE, request_id)
    changes = session.scalars(sa.select(models.ResidentChange).where(
        models.ResidentChange.resident_id == resident.id).order_by(models.ResidentChange.id))
    return [{"changed_at": c.changed_at.isoformat(), "actor": c.actor, "reason": c.reason,
             "changes": c.changes} for c in changes]


def resident_reads(session: Session, nik: str, scope: str | None, page: int = 1,
                   per_page: int = 20) -> dict:
    """Who read this resident's record, newest first: the resident's right of access.

    Items carry the reader's role and account name and the purpose, nothing about any other
    resident (a search that listed them is just "resident.search").
    """
    args = load(schemas.ResidentReadsArgs(), {"page": page, "per_page": per_page})
    resident = _resident(session, nik, scope)
    read = models.ResidentRead
    query = sa.select(read).where(read.nik == resident.nik).order_by(read.read_at.desc(),
                                                                     read.id.desc())
    items, total = fetch_page(session, query, args["page"], args["per_page"])
    return {"items": [_READ.dump({"read_at": r.read_at, "role": r.actor_role,
                                  "username": r.actor_username, "purpose": r.purpose})
                      for r in items],
            "total": total, "page": args["page"], "per_page": args["per_page"]}


# -- life events ---------------------------------------------------------------------------------
_EVENT_DETAILS = ("time", "place", "cause", "reporter", "reporter_nik", "reporter_relation",
                  "destination", "destination_village_code", "origin", "origin_village_code",
                  "reason", "circumstances", "note")


def _birth(session: Session, outbox: Outbox, parent: Resident, event: dict,
           actor: dict | None) -> Resident:
    """Register the newborn of `parent`; defaults come from the parent and the event."""
    child = dict(event["child"])
    if child.get("birth_date") is None:
        child["birth_date"] = event["date"]
    elif child["birth_date"] != event["date"]:
        raise ValidationFailed("The child's birth date is the event date",
                               fields={"child": {"birth_date": ["Must equal the event date."]}})
    parent_side = ("mother_nik", "mother_name") if parent.sex == domain.FEMALE else \
        ("father_nik", "father_name")
    child[parent_side[0]] = child.get(parent_side[0]) or parent.nik
    child[parent_side[1]] = child.get(parent_side[1]) or parent.name
    if not child.get("address") or not any(child["address"].values()):
        child["address"] = {name: getattr(parent, name) for name in events.ADDRESS_COLUMNS}
    if not child.get("family_number") and parent.family_number:
        relationship = domain.NEWBORN_RELATIONSHIPS.get(parent.relationship or 0)
        if relationship is not None:
            child["family_number"], child["relationship"] = parent.family_number, relationship
    village = _village(session, parent.village_code)
    resident = _new_resident(session, village, child, actor, within="child")
    family = None
    if child.get("family_number"):
        family = _place_in_family(session, resident, child["family_number"],
                                  child["relationship"], actor)
    _emit_resident(session, outbox, events.RESIDENT_REGISTERED, resident)
    if family is not None:
        _emit_family(session, outbox, family)
    return resident


@transactional
def record_life_event(session: Session, outbox: Outbox, nik: str, event: dict,
                      scope: str | None, actor: dict | None) -> dict:
    resident = _resident(session, nik, scope, lock=True)
    data = load(schemas.LifeEventInput(), event)
    today = domain.local_today()
    reported_on = data["reported_at"] or today
    try:
        domain.check_event_dates(data["date"], reported_on, today)
        new_status = domain.status_after(resident.status, data["type"])
    except domain.InvalidLifeEvent as exc:
        raise Unprocessable(exc.message, fields={exc.field: [exc.message]}) from None
    except domain.RegistryRuleError as exc:
        raise rule_failed(exc) from None
    details = {name: data[name] for name in _EVENT_DETAILS if data.get(name) is not None}
    if data["type"] == domain.BIRTH:
        subject = _birth(session, outbox, resident, data, actor)
        details["parent_nik"] = resident.nik
    else:
        subject = resident
        old_status = resident.status
        resident.status = new_status
        resident.updated_at = now()
        session.flush()
        _record_change(session, resident, {"status": [old_status, new_status]}, actor,
                       data["type"])
    life_event = models.LifeEvent(
        resident_id=subject.id, village_code=subject.village_code, type=data["type"],
        event_date=data["date"], reported_on=reported_on, details=details, actor=actor,
        recorded_at=now())
    session.add(life_event)
    session.flush()
    if data["type"] == domain.BIRTH:
        state = events.resident_state(subject)
    else:
        state = _emit_resident(session, outbox, events.LIFE_EVENT_TYPES[data["type"]], subject)
    return {"event": events.life_event_state(life_event, subject.nik), "resident": state}


# -- families ------------------------------------------------------------------------------------
def _village_resident(session: Session, nik: str, village_code: str, field: str) -> Resident:
    resident = session.scalar(sa.select(Resident).where(Resident.nik == nik).with_for_update())
    if resident is None or resident.village_code != village_code:
        raise Unprocessable("No resident with this NIK in the village",
                            fields={field: ["No resident with this NIK in the village."]})
    return resident


@transactional
def register_family(session: Session, outbox: Outbox, village_code: str, data: dict,
                    actor: dict | None) -> dict:
    village = _village(session, village_code)
    payload = load(schemas.FamilyInput(), data)
    if session.scalar(sa.select(sa.func.count()).where(Family.number == payload["number"])):
        raise Conflict(f"Family card {payload['number']} is already registered",
                       fields={"number": ["This No. KK is already registered."]})
    head = _village_resident(session, payload["head_nik"], village.code, "head_nik")
    address = payload["address"] or {name: getattr(head, name)
                                      for name in events.ADDRESS_COLUMNS}
    moment = now()
    family = Family(number=payload["number"], village_code=village.code, created_at=moment,
                    updated_at=moment, **_address_columns(address))
    session.add(family)
    valid_from = payload["valid_from"] or domain.local_today()
    joined = [head]
    _join_family(session, family, head, domain.HEAD_OF_FAMILY, valid_from, actor,
                 field="head_nik")
    for index, member in enumerate(payload["members"]):
        field = f"members.{index}.nik"
        resident = _village_resident(session, member["nik"], village.code, field)
        _join_family(session, family, resident, member["relationship"],
                     member["valid_from"] or valid_from, actor, field=field)
        joined.append(resident)
    for resident in joined:
        _emit_resident(session, outbox, events.RESIDENT_UPDATED, resident)
    return _emit_family(session, outbox, family)


@transactional
def get_family(session: Session, number: str, scope: str | None, actor: dict | None = None,
               request_id: str | None = None) -> dict:
    """The card with its members; everyone it names (past members too) gets a log line."""
    family = _family(session, number, scope)
    named = {m.resident.id: m.resident for m in family.memberships}
    _record_reads(session, named.values(), actor, FAMILY_PURPOSE, request_id)
    return events.family_state(family)


@transactional
def add_family_member(session: Session, outbox: Outbox, number: str, member: dict,
                      scope: str | None, actor: dict | None) -> dict:
    family = _family(session, number, scope, lock=True)
    payload = load(schemas.FamilyMemberInput(), member)
    resident = _village_resident(session, payload["nik"], family.village_code, "nik")
    _join_family(session, family, resident, payload["relationship"],
                 payload["valid_from"] or domain.local_today(), actor)
    _emit_resident(session, outbox, events.RESIDENT_UPDATED, resident)
    return _emit_family(session, outbox, family)


@transactional
def end_family_membership(session: Session, outbox: Outbox, number: str, nik: str,
                          valid_to: str | date, scope: str | None, actor: dict | None) -> dict:
    family = _family(session, number, scope, lock=True)
    payload = load(schemas.EndMembershipInput(), {
        "nik": nik, "valid_to": valid_to.isoformat() if isinstance(valid_to, date) else valid_to})
    membership = session.scalar(
        sa.select(FamilyMembership).join(Resident).where(
            FamilyMembership.family_id == family.id, Resident.nik == payload["nik"],
            FamilyMembership.valid_to.is_(None)).with_for_update(of=FamilyMembership))
    if membership is None:
        raise NotFound("The resident is not a current member of this family card")
    if payload["valid_to"] < membership.valid_from:
        raise ValidationFailed("Membership cannot end before it started",
                               fields={"valid_to": ["Before valid_from."]})
    membership.valid_to = payload["valid_to"]
    resident = membership.resident
    if family.head_id == resident.id:
        family.head = None  # the card stays as history; a new card gets the new head
    old = (resident.family_number, resident.relationship)
    resident.family_number = resident.relationship = None
    resident.updated_at = family.updated_at = now()
    session.flush()
    _record_change(session, resident, {"family_number": [old[0], None],
                                       "relationship": [old[1], None]}, actor, "family_left")
    _emit_resident(session, outbox, events.RESIDENT_UPDATED, resident)
    return _emit_family(session, outbox, family)


# -- accounts and login --------------------------------------------------------------------------
def account_state(account: models.Account) -> dict:
    return {"id": account.id, "role": account.role, "username": account.username,
            "village_code": account.village_code}


@transactional
def create_account(session: Session, role: str, username: str, password: str,
                   village_code: str | None, actor: dict | None = None) -> dict:
    """Staff accounts are not events: their payload would carry a password hash."""
    payload = load(schemas.AccountCreate(), {"role": role, "username": username,
                                             "password": password,
                                             "village_code": village_code})
    if payload["village_code"] and session.get(Village, payload["village_code"]) is None:
        raise ValidationFailed("Unknown village", fields={"village_code": ["Unknown village."]})
    if session.scalar(sa.select(sa.func.count()).where(
            models.Account.username == payload["username"])):
        raise Conflict(f"Username {payload['username']} is taken",
                       fields={"username": ["Already taken."]})
    account = models.Account(username=payload["username"], role=payload["role"],
                             village_code=payload["village_code"],
                             password_hash=_hasher.hash(payload["password"]),
                             created_at=now(), created_by=_actor_name(actor))
    session.add(account)
    session.flush()
    return account_state(account)


def verify_secret(hashed: str, secret: str) -> bool:
    """argon2 check that never raises: a malformed hash is a failed check."""
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


@transactional
def authenticate_password(session: Session, username: str, password: str) -> dict:
    account = session.scalar(sa.select(models.Account).where(
        models.Account.username == (username or "").strip().lower()))
    valid = verify_secret(account.password_hash if account else _dummy_hash(), password or "")
    if account is None or not valid or not account.active:
        raise Unauthenticated("Wrong username or password")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    return {"subject": f"account:{account.id}", "role": account.role,
            "username": account.username, "village_code": account.village_code}


def authenticate_pin(session: Session, nik: str, pin: str) -> dict:
    """NIK + PIN login. Five failures lock it for 15 minutes (kept in the database)."""
    try:
        principal = _authenticate_pin(session, nik, pin)
    except (Unauthenticated, TooManyAttempts):
        # Failures are committed too: the counter and the lock outlive the refused attempt.
        session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    session.commit()
    return principal


def _authenticate_pin(session: Session, nik: str, pin: str) -> dict:
    resident = session.scalar(sa.select(Resident).where(Resident.nik == (nik or "")))
    credential = None
    if resident is not None:
        credential = session.scalar(sa.select(models.ResidentCredential).where(
            models.ResidentCredential.resident_id == resident.id).with_for_update())
    if credential is None:
        verify_secret(_dummy_hash(), pin or "")
        raise Unauthenticated("Wrong NIK or PIN")
    moment = now()
    if credential.locked_until is not None and credential.locked_until > moment:
        raise TooManyAttempts("Too many wrong PINs; try again later",
                              fields={"locked_until": [credential.locked_until.isoformat()]})
    if credential.locked_until is not None:
        credential.locked_until, credential.failed_attempts = None, 0  # the lock has expired
    if not verify_secret(credential.pin_hash, pin or ""):
        credential.failed_attempts += 1
        if credential.failed_attempts >= PIN_MAX_FAILURES:
            credential.locked_until = moment + PIN_LOCK
            credential.failed_attempts = 0
            raise Unauthenticated("Wrong NIK or PIN; login locked for 15 minutes")
        raise Unauthenticated("Wrong NIK or PIN")
    credential.failed_attempts = 0
    if resident.status != domain.ALIVE:
        raise Unauthenticated("Wrong NIK or PIN")
    return {"subject": f"resident:{resident.nik}", "role": "resident", "nik": resident.nik,
            "name": resident.name, "village_code": resident.village_code}


def set_pin(session: Session, resident: Resident, pin: str, actor: dict | None) -> None:
    statement = insert(models.ResidentCredential).values(
        resident_id=resident.id, pin_hash=_hasher.hash(pin), failed_attempts=0,
        locked_until=None, issued_at=now(), issued_by=_actor_name(actor))
    session.execute(statement.on_conflict_do_update(
        index_elements=[models.ResidentCredential.resident_id],
        set_={name: statement.excluded[name] for name in
              ("pin_hash", "failed_attempts", "locked_until", "issued_at", "issued_by")}))


@transactional
def issue_pin(session: Session, nik: str, scope: str | None, actor: dict | None) -> dict:
    """A new 6-digit PIN, returned once; only its hash is kept. Resets any lock."""
    resident = _resident(session, nik, scope, lock=True)
    if resident.status != domain.ALIVE:
        raise Unprocessable(f"The resident is {resident.status}",
                            fields={"nik": [f"Resident is {resident.status}."]})
    pin = f"{secrets.randbelow(1_000_000):06d}"
    set_pin(session, resident, pin, actor)
    return {"pin": pin}


# -- CSV import ----------------------------------------------------------------------------------
def import_residents(session: Session, outbox: Outbox, village_code: str, csv_text: str,
                     dry_run: bool, actor: dict | None) -> dict:
    """Validate every row; write all of them (one transaction) or none. See csv_import.py."""
    village = _village(session, village_code)
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


@transactional
def _write_import(session: Session, outbox: Outbox, village: Village,
                  rows: list[csv_import.Row], families: dict[str, list[csv_import.Row]],
                  actor: dict | None) -> None:
    """Bulk insert of checked rows: one flush for all rows, then history and events."""
    moment, start = now(), domain.local_today()
    created: dict[int, Resident] = {}
    for row in rows:
        data = dict(row.data)
        address = data.pop("address", None)
        nik = data.pop("nik", None) or _next_temporary_number(session, village.code)
        created[row.line] = Resident(
            nik=nik, has_nik=not domain.is_temporary_number(nik), village_code=village.code,
            status=domain.ALIVE, registered_at=moment, updated_at=moment,
            **_address_columns(address), **data)
    session.add_all(created.values())
    cards = []
    for number, members in families.items():
        head = next(r for r in members if r.data["relationship"] == domain.HEAD_OF_FAMILY)
        family = Family(number=number, village_code=village.code, created_at=moment,
                        updated_at=moment, head=created[head.line],
                        **_address_columns(head.data.get("address")))
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
                        "changes": to_json_safe(_registration_changes(state))})
    emitted += [{"type": events.FAMILY_UPDATED, "village_code": village.code,
                 "aggregate_id": family.number, "payload": events.family_state(family)}
                for family in cards]
    session.execute(sa.insert(models.ResidentChange), history)
    outbox.record_many(session, emitted)
