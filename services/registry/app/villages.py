"""Villages: the reference list and each village's own settings (letterhead, numbering)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.common.fields import load
from services.common.outbox import Outbox
from services.common.pagination import fetch_page
from services.registry import events
from services.registry.app import records
from services.registry.models import Village
from services.registry.schemas.villages import VillageListArgs, VillageSettingsUpdate


def list_villages(session: Session, district_code: str | None = None, page: int = 1,
                  per_page: int = 50) -> dict:
    args = load(VillageListArgs(), {"district_code": district_code, "page": page,
                                            "per_page": per_page})
    query = sa.select(Village).order_by(Village.code)
    if args["district_code"]:
        query = query.where(Village.district_code == args["district_code"])
    items, total = fetch_page(session, query, args["page"], args["per_page"])
    return {"items": [events.village_state(v) for v in items], "total": total,
            "page": args["page"], "per_page": args["per_page"]}


def get_village(session: Session, code: str) -> dict:
    return events.village_state(records.village(session, code))


def update_village(session: Session, outbox: Outbox, code: str, changes: dict,
                   actor: dict | None) -> dict:
    """Change a village's settings; the change names who made it (`updated_by`)."""
    village = records.village(session, code, lock=True)
    settings = load(VillageSettingsUpdate(), changes)
    changed = {name: value for name, value in settings.items()
               if getattr(village, name) != value}
    if not changed:
        return events.village_state(village)
    for name, value in changed.items():
        setattr(village, name, value)
    village.updated_at = clock.now()
    village.updated_by = records.actor_name(actor)
    return events.emit_village(session, outbox, village)
