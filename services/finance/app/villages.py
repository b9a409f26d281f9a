"""The registry's villages as finance keeps them (from `village.updated`)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from services.common.clock import parse_time
from services.common.readmodel import upsert_newest
from services.finance.models import Village


def apply_village(session: Session, village: dict) -> None:
    """Keep the newest state of a village; an older or repeated event changes nothing."""
    upsert_newest(session, Village, {"code": village["code"]}, {
        "name": village.get("name") or village["code"],
        "district_code": village.get("district_code"),
        "district_name": village.get("district_name"),
        "data": village,
    }, parse_time(village.get("updated_at")))
