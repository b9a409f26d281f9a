"""The registry's villages and residents as letters keeps them (from registry events), so a
letter can be requested and issued while the registry is down."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.clock import parse_time
from services.common.errors import Unprocessable
from services.common.letter_numbers import DEFAULT_FORMAT
from services.common.readmodel import upsert_newest
from services.letters.models import Resident, Village

VILLAGE_DEFAULTS = {
    "kind": "desa", "head_title": "Kepala Desa", "letter_number_scope": "per_type",
    "letter_number_format": DEFAULT_FORMAT, "paper_size": "A4",
    "regency_name": "Kabupaten Serang", "office_address": "", "head_name": None,
}


def apply_village(session: Session, village: dict) -> None:
    """Keep the newest state of a village; an older or repeated event changes nothing."""
    upsert_newest(session, Village, {"code": village["code"]}, {"data": village},
                  parse_time(village.get("updated_at")))


def apply_resident(session: Session, resident: dict) -> None:
    previous = resident.get("previous_nik")
    if previous and previous != resident["nik"]:
        # Dukcapil issued the NIK for someone known by a temporary village number: same person.
        if session.get(Resident, resident["nik"]) is None:
            session.execute(sa.update(Resident).where(Resident.nik == previous)
                            .values(nik=resident["nik"]))
        else:
            session.execute(sa.delete(Resident).where(Resident.nik == previous))
    upsert_newest(session, Resident, {"nik": resident["nik"]}, {
        "village_code": resident["village_code"], "name": resident["name"],
        "status": resident.get("status") or "alive", "data": resident,
    }, parse_time(resident.get("updated_at")))


def village_info(session: Session, code: str) -> dict:
    village = session.get(Village, code)
    if village is None:
        raise Unprocessable(f"village {code} is not known to the letters service yet",
                            fields={"village_code": ["no village.updated event received"]})
    info = {**VILLAGE_DEFAULTS, **{k: v for k, v in village.data.items() if v is not None}}
    info["kind_title"] = "Kelurahan" if info.get("kind") == "kelurahan" else "Desa"
    return info
