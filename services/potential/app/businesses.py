"""Businesses (UMKM): register, change, list and read; the owner must be a living resident."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.common.fields import load
from services.common.outbox import Outbox
from services.common.pagination import fetch_page
from services.potential import domain, events, schemas
from services.potential.app import records
from services.potential.models import Business

_BUSINESS = schemas.Business()
_PUBLIC = schemas.PublicBusiness()


def _state(business: Business, photos: list[dict], owner_name: str | None = None) -> dict:
    return {**{column: getattr(business, column) for column in (
        "village_code", "owner_nik", "name", "nib", "kbli", "sector", "description", "products",
        "workers", "capital", "yearly_sales", "size_class", "address", "latitude", "longitude",
        "location_warnings", "certifications", "status", "created_at", "updated_at")},
        "id": str(business.id), "dusun": (business.address or {}).get("dusun"),
        "owner_name": owner_name, "photos": photos}


def business_dict(session: Session, business: Business) -> dict:
    photos = records.photos_of(session, "business", [business.id])[str(business.id)]
    names = records.resident_names(session, {business.owner_nik})
    return _BUSINESS.dump(_state(business, photos, names.get(business.owner_nik)))


def public_dicts(session: Session, businesses: list[Business]) -> list[dict]:
    photos = records.photos_of(session, "business", [b.id for b in businesses])
    return [_PUBLIC.dump(_state(b, photos[str(b.id)])) for b in businesses]


def _index(session: Session, business: Business) -> None:
    """Only an active business is in the public catalogue."""
    if business.status != "active":
        records.catalogue_remove(session, "business", business.id)
        return
    records.catalogue_put(
        session, "business", business.id, business.village_code, name=business.name,
        summary=business.description, sector=business.sector,
        text=records.search_text(business.name, business.description, business.sector,
                                 business.kbli, [p["name"] for p in business.products or []]))


def _save(session: Session, outbox: Outbox, business: Business, created: bool) -> dict:
    session.flush()
    _index(session, business)
    state = business_dict(session, business)
    events.emit_business(session, outbox, state, created)
    return state


def _apply(session: Session, business: Business, data: dict) -> None:
    for name, value in data.items():
        setattr(business, name, value)
    business.size_class = domain.size_class(business.capital, business.yearly_sales)
    business.location_warnings = records.place(session, business.village_code,
                                               business.latitude, business.longitude)


def register(session: Session, outbox: Outbox, village_code: str, data: dict,
             scope: str | None, actor: dict) -> dict:
    records.check_editor(actor, "register businesses")
    payload = load(schemas.BusinessCreate(), data)
    records.check_village(village_code, scope)
    domain.check_owner(records.resident_facts(session, payload["owner_nik"]), village_code)
    moment = clock.now()
    business = Business(village_code=village_code, created_at=moment, updated_at=moment,
                        updated_by=records.actor_summary(actor))
    _apply(session, business, payload)
    session.add(business)
    records.audit_change(session, village_code, {business.owner_nik}, actor,
                         "business.registered")
    return _save(session, outbox, business, created=True)


def change(session: Session, outbox: Outbox, business_id: str, data: dict, scope: str | None,
           actor: dict, if_match: str | None = None) -> dict:
    records.check_editor(actor, "change businesses")
    changes = load(schemas.BusinessChange(), data)
    business = records.load(session, Business, business_id, scope, "Business", lock=True,
                            if_match=if_match)
    owners = {business.owner_nik, changes.get("owner_nik")}
    if changes.get("owner_nik", business.owner_nik) != business.owner_nik:
        domain.check_owner(records.resident_facts(session, changes["owner_nik"]),
                           business.village_code)
    _apply(session, business, changes)
    records.audit_change(session, business.village_code, owners, actor, "business.updated")
    business.updated_at = clock.now()
    business.updated_by = records.actor_summary(actor)
    return _save(session, outbox, business, created=False)


def get(session: Session, business_id: str, scope: str | None, actor: dict | None = None,
        request_id: str | None = None) -> dict:
    business = records.load(session, Business, business_id, scope, "Business")
    records.audit_reads(session, [(business.owner_nik, business.village_code)], actor,
                        "business.read", request_id)
    return business_dict(session, business)


def _filtered(village_code: str, args: dict) -> sa.Select:
    query = sa.select(Business).where(Business.village_code == village_code)
    if args.get("sector"):
        query = query.where(Business.sector == args["sector"])
    if args.get("size_class"):
        query = query.where(Business.size_class == args["size_class"])
    if args.get("status"):
        query = query.where(Business.status == args["status"])
    if args.get("dusun"):
        query = query.where(Business.address["dusun"].astext.ilike(args["dusun"]))
    if args.get("q"):
        query = query.where(Business.name.ilike(f"%{_escape(args['q'])}%"))
    return query.order_by(Business.name, Business.id)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_village(session: Session, village_code: str, query: dict, scope: str | None,
                 actor: dict | None = None, request_id: str | None = None) -> dict:
    args = load(schemas.BusinessListArgs(), query)
    records.check_village(village_code, scope)
    rows, total = fetch_page(session, _filtered(village_code, args), args["page"],
                             args["per_page"])
    records.audit_reads(session, [(b.owner_nik, b.village_code) for b in rows], actor,
                        "business.list", request_id)
    photos = records.photos_of(session, "business", [b.id for b in rows])
    names = records.resident_names(session, {b.owner_nik for b in rows})
    return {"items": [_BUSINESS.dump(_state(b, photos[str(b.id)], names.get(b.owner_nik)))
                      for b in rows],
            "total": total, "page": args["page"], "per_page": args["per_page"]}


def list_public(session: Session, village_code: str, query: dict) -> dict:
    records.check_code(village_code)
    args = load(schemas.BusinessListArgs(), query)
    args["status"] = "active"
    rows, total = fetch_page(session, _filtered(village_code, args), args["page"],
                             args["per_page"])
    return {"items": public_dicts(session, rows), "total": total, "page": args["page"],
            "per_page": args["per_page"]}
