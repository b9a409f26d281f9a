"""Tourism sites (desa wisata): record, change, list and read."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.fields import load
from services.common.outbox import Outbox
from services.common.pagination import fetch_page
from services.potential import events, schemas
from services.potential.app import records
from services.potential.models import TourismSite

_SITE = schemas.StaffTourismSite()
_PUBLIC = schemas.TourismSite()
COLUMNS = ("village_code", "name", "category", "description", "latitude", "longitude",
           "location_warnings", "facilities", "opening_hours", "ticket_price", "managed_by",
           "development_class", "created_at", "updated_at")


def _state(site: TourismSite, photos: list[dict]) -> dict:
    return {**{c: getattr(site, c) for c in COLUMNS}, "id": str(site.id), "photos": photos}


def site_dict(session: Session, site: TourismSite) -> dict:
    return _SITE.dump(_state(site, records.photos_of(session, "tourism_site",
                                                     [site.id])[str(site.id)]))


def _save(session: Session, outbox: Outbox, site: TourismSite) -> dict:
    site.location_warnings = records.place(session, site.village_code, site.latitude,
                                           site.longitude)
    session.flush()
    records.catalogue_put(
        session, "tourism_site", site.id, site.village_code, name=site.name,
        summary=site.description,
        text=records.search_text(site.name, site.description, site.category,
                                 site.facilities, site.managed_by))
    return events.emit_tourism_site(session, outbox, site_dict(session, site))


def create(session: Session, outbox: Outbox, village_code: str, data: dict, scope: str | None,
           actor: dict) -> dict:
    records.check_editor(actor, "record tourism sites")
    payload = load(schemas.TourismSiteCreate(), data)
    records.check_village(village_code, scope)
    site = records.new_record(TourismSite, village_code, actor, **payload)
    session.add(site)
    return _save(session, outbox, site)


def change(session: Session, outbox: Outbox, site_id: str, data: dict, scope: str | None,
           actor: dict, if_match: str | None = None) -> dict:
    records.check_editor(actor, "change tourism sites")
    changes = load(schemas.TourismSiteChange(), data)
    site = records.load(session, TourismSite, site_id, scope, "Tourism site", lock=True,
                        if_match=if_match)
    records.apply_changes(site, changes, actor)
    return _save(session, outbox, site)


def get(session: Session, site_id: str, scope: str | None) -> dict:
    return site_dict(session, records.load(session, TourismSite, site_id, scope,
                                           "Tourism site"))


def _page(session: Session, village_code: str, query: dict, schema) -> dict:
    args = load(schemas.TourismSiteListArgs(), query)
    stmt = sa.select(TourismSite).where(TourismSite.village_code == village_code)
    for name in ("category", "development_class"):
        if args[name]:
            stmt = stmt.where(getattr(TourismSite, name) == args[name])
    rows, total = fetch_page(session, stmt.order_by(TourismSite.name, TourismSite.id),
                             args["page"], args["per_page"])
    photos = records.photos_of(session, "tourism_site", [s.id for s in rows])
    return {"items": [schema.dump(_state(s, photos[str(s.id)])) for s in rows],
            "total": total, "page": args["page"], "per_page": args["per_page"]}


def list_village(session: Session, village_code: str, query: dict, scope: str | None) -> dict:
    records.check_village(village_code, scope)
    return _page(session, village_code, query, _SITE)


def list_public(session: Session, village_code: str, query: dict) -> dict:
    records.check_code(village_code)
    return _page(session, village_code, query, _PUBLIC)
