"""Registry's villages and residents as potential keeps them (from events), and the follow-ups
a death or a move out opens on businesses and organisations.

A follow-up is one row per thing, person and reason (a unique constraint), so an event delivered
twice, or republished with a new event id, opens nothing new.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.common import clock
from services.common.clock import parse_time
from services.common.fields import load
from services.common.outbox import Outbox
from services.common.pagination import fetch_page
from services.common.readmodel import upsert_newest
from services.potential import domain, events, schemas
from services.potential.app import records
from services.potential.models import Business, FollowUp, Organisation, Resident, Village

_FOLLOW_UP = schemas.FollowUp()
REASON_BY_STATUS = {"dead": "died", "moved_out": "moved_out"}


def apply_village(session: Session, village: dict) -> None:
    upsert_newest(session, Village, {"village_code": village["code"]}, {
        "name": village["name"], "district_code": village.get("district_code")
        or records.district_of(village["code"]),
        "district_name": village.get("district_name")}, parse_time(village.get("updated_at")))


def apply_resident(session: Session, resident: dict) -> None:
    previous = resident.get("previous_nik")
    if previous and previous != resident["nik"]:
        # Dukcapil issued the NIK of someone known by a temporary number: same person.
        if session.get(Resident, resident["nik"]) is None:
            session.execute(sa.update(Resident).where(Resident.nik == previous)
                            .values(nik=resident["nik"]))
        else:
            session.execute(sa.delete(Resident).where(Resident.nik == previous))
    upsert_newest(session, Resident, {"nik": resident["nik"]}, {
        "village_code": resident["village_code"], "name": resident["name"],
        "status": resident.get("status") or "alive"}, parse_time(resident.get("updated_at")))


def follow_up_dict(follow_up: FollowUp) -> dict:
    return _FOLLOW_UP.dump({**{c: getattr(follow_up, c) for c in (
        "village_code", "subject_kind", "subject_name", "nik", "person_name", "roles",
        "reason", "created_at", "resolved_at", "resolution")},
        "id": str(follow_up.id), "subject_id": str(follow_up.subject_id)})


def _open(session: Session, outbox: Outbox, subject_kind: str, subject, nik: str,
          name: str | None, roles: list[str], reason: str) -> None:
    inserted = session.execute(insert(FollowUp).values(
        village_code=subject.village_code, subject_kind=subject_kind, subject_id=subject.id,
        subject_name=subject.name, nik=nik, person_name=name, roles=roles, reason=reason,
        created_at=clock.now()).on_conflict_do_nothing().returning(FollowUp.id)).scalar()
    if inserted is not None:
        events.emit_follow_up(session, outbox, follow_up_dict(session.get(FollowUp, inserted)))


def apply_life_event(session: Session, outbox: Outbox, resident: dict) -> None:
    """resident.died / resident.moved_out: keep the resident, open the follow-ups it causes."""
    apply_resident(session, resident)
    reason = REASON_BY_STATUS.get(resident.get("status"))
    if reason is None:  # a later event already brought them back; nothing to follow up
        return
    nik, name = resident["nik"], resident.get("name")
    for business in session.scalars(sa.select(Business).where(
            Business.owner_nik == nik, Business.status != "closed")):
        _open(session, outbox, "business", business, nik, name, ["owner"], reason)
    for org in session.scalars(sa.select(Organisation).where(sa.or_(
            Organisation.chair_nik == nik,
            Organisation.officers.contains([{"nik": nik}])))):
        roles = domain.follow_up_roles(nik, chair_nik=org.chair_nik, officers=org.officers)
        _open(session, outbox, "organisation", org, nik, name, roles, reason)


def list_village(session: Session, village_code: str, query: dict, scope: str | None,
                 actor: dict | None = None, request_id: str | None = None) -> dict:
    args = load(schemas.FollowUpListArgs(), query)
    records.check_village(village_code, scope)
    stmt = sa.select(FollowUp).where(FollowUp.village_code == village_code)
    if args["status"] == "open":
        stmt = stmt.where(FollowUp.resolved_at.is_(None))
    elif args["status"] == "resolved":
        stmt = stmt.where(FollowUp.resolved_at.is_not(None))
    rows, total = fetch_page(session, stmt.order_by(FollowUp.created_at.desc(), FollowUp.id),
                             args["page"], args["per_page"])
    records.audit_reads(session, [(f.nik, f.village_code) for f in rows], actor,
                        "follow_up.list", request_id)
    return {"items": [follow_up_dict(f) for f in rows], "total": total,
            "page": args["page"], "per_page": args["per_page"]}


def resolve(session: Session, outbox: Outbox, follow_up_id: str, data: dict,
            scope: str | None, actor: dict) -> dict:
    records.check_editor(actor, "resolve follow-ups")
    payload = load(schemas.FollowUpResolve(), data)
    follow_up = records.load(session, FollowUp, follow_up_id, scope, "Follow-up", lock=True)
    if follow_up.resolved_at is not None:
        raise domain.FollowUpAlreadyResolved("This follow-up is already resolved.")
    follow_up.resolved_at = clock.now()
    follow_up.resolved_by = records.actor_summary(actor)
    follow_up.resolution = payload["resolution"]
    session.flush()
    return events.emit_follow_up(session, outbox, follow_up_dict(follow_up))
