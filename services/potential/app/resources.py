"""Resources and facilities: structured quantities with units, per kind and year."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.common.fields import load
from services.common.outbox import Outbox
from services.common.pagination import fetch_page
from services.potential import domain, events, schemas
from services.potential.app import records
from services.potential.models import Resource

_RESOURCE = schemas.Resource()


def resource_dict(resource: Resource) -> dict:
    return _RESOURCE.dump({**{c: getattr(resource, c) for c in (
        "village_code", "kind", "name", "quantity", "unit", "year", "updated_at")},
        "id": str(resource.id)})


def create(session: Session, outbox: Outbox, village_code: str, data: dict, scope: str | None,
           actor: dict) -> dict:
    records.check_editor(actor, "record resources")
    payload = load(schemas.ResourceCreate(), data)
    records.check_village(village_code, scope)
    domain.check_units(payload["kind"], payload["unit"])
    resource = records.new_record(Resource, village_code, actor, **payload)
    session.add(resource)
    session.flush()
    return events.emit_resource(session, outbox, resource_dict(resource))


def change(session: Session, outbox: Outbox, resource_id: str, data: dict, scope: str | None,
           actor: dict, if_match: str | None = None) -> dict:
    records.check_editor(actor, "change resources")
    changes = load(schemas.ResourceChange(), data)
    resource = records.load(session, Resource, resource_id, scope, "Resource", lock=True,
                            if_match=if_match)
    for name, value in changes.items():
        setattr(resource, name, value)
    domain.check_units(resource.kind, resource.unit)
    resource.updated_at = clock.now()
    resource.updated_by = records.actor_summary(actor)
    session.flush()
    return events.emit_resource(session, outbox, resource_dict(resource))


def get(session: Session, resource_id: str, scope: str | None) -> dict:
    return resource_dict(records.load(session, Resource, resource_id, scope, "Resource"))


def remove(session: Session, outbox: Outbox, resource_id: str, scope: str | None,
           actor: dict) -> None:
    records.check_editor(actor, "remove resources")
    resource = records.load(session, Resource, resource_id, scope, "Resource", lock=True)
    state = resource_dict(resource)
    session.delete(resource)
    events.emit_resource(session, outbox, state, removed=True)


def list_village(session: Session, village_code: str, query: dict, scope: str | None) -> dict:
    args = load(schemas.ResourceListArgs(), query)
    records.check_village(village_code, scope)
    stmt = sa.select(Resource).where(Resource.village_code == village_code)
    if args["kind"]:
        stmt = stmt.where(Resource.kind == args["kind"])
    if args["year"]:
        stmt = stmt.where(Resource.year == args["year"])
    rows, total = fetch_page(session, stmt.order_by(Resource.kind, Resource.year.desc(),
                                                    Resource.name, Resource.id),
                             args["page"], args["per_page"])
    return {"items": [resource_dict(r) for r in rows], "total": total, "page": args["page"],
            "per_page": args["per_page"]}
