"""What the aggregates share: ids, scope, who did it, residents' names, photos and the catalogue."""
from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.common import audit, clock, versions
from services.common.errors import NotFound
from services.common.fields import VILLAGE_CODE_PATTERN
from services.common.tenancy import check_scope, one_in_scope
from services.potential import domain
from services.potential.models import CatalogueEntry, Photo, Resident, Village

PHOTO_PATH = "/api/v1/photos/{id}"
VILLAGE_CODE = re.compile(VILLAGE_CODE_PATTERN)


def as_uuid(value: object, what: str) -> uuid.UUID:
    """A malformed id in a path is a 404, never a 500."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"{what} not found") from None


def actor_summary(actor: dict | None) -> dict | None:
    """Who did it, as stored beside a change (staff log in by username; no NIK)."""
    if not actor:
        return None
    return {"role": actor.get("role"), "username": actor.get("username")}


def new_record(model: type, village_code: str, actor: dict, **values):
    """A new row of `model` for the village, stamped as created and last changed by `actor`."""
    moment = clock.now()
    return model(village_code=village_code, created_at=moment, updated_at=moment,
                 updated_by=actor_summary(actor), **values)


def apply_changes(entity, changes: dict, actor: dict) -> None:
    """Set the changed fields and stamp the row as last changed now by `actor`."""
    for name, value in changes.items():
        setattr(entity, name, value)
    entity.updated_at = clock.now()
    entity.updated_by = actor_summary(actor)


def audit_change(session: Session, village_code: str, niks: set[str | None], actor: dict,
                 purpose: str) -> None:
    """The audit log's line for a change of a row naming residents (owners, chairs, officers)."""
    audit.record(session, [(nik, village_code) for nik in sorted(n for n in niks if n)],
                 actor=actor, action=audit.CHANGE, purpose=purpose)


def audit_reads(session: Session, people: Iterable[tuple[str | None, str]],
                actor: dict | None, purpose: str, request_id: str | None) -> None:
    """The audit log's lines for a staff read of rows naming residents by NIK (owners, chairs,
    officers, follow-ups' people): (NIK, village) pairs, in the read's transaction (0034)."""
    audit.record_reads(session, sorted({(nik, village) for nik, village in people if nik}),
                       actor, purpose, request_id)


def check_editor(actor: dict, doing: str) -> None:
    domain.check_role((actor or {}).get("role"), domain.EDITORS, doing)


def check_code(village_code: object) -> None:
    """A path that is no village code names no village: 404, before any query."""
    if not isinstance(village_code, str) or not VILLAGE_CODE.fullmatch(village_code):
        raise NotFound("Village not found")


def check_village(village_code: str, scope: str | None) -> None:
    check_code(village_code)
    check_scope(scope, village_code)


def load(session: Session, model: type, entity_id: str, scope: str | None, what: str, *,
         lock: bool = False, if_match: str | None = None):
    """The row of `model` with this id if the caller's scope reaches its village, else 404;
    with `if_match`, locked and refused unless it is still the version its caller read."""
    query = sa.select(model).where(model.id == as_uuid(entity_id, what))
    entity = one_in_scope(session, query, scope, what, lock=lock or if_match is not None)
    check_unchanged(entity, if_match, what)
    return entity


def check_unchanged(entity, if_match: str | None, what: str) -> None:
    """The entry's version check (services/common/versions.py); the caller holds its lock."""
    if if_match is not None:  # rows without a version (follow-ups) are loaded here too
        versions.check_unchanged(entity.updated_at, if_match, what)


def district_of(village_code: str) -> str:
    """The district (kecamatan) code is the village code's first three parts."""
    return village_code[:8]


def resident_names(session: Session, niks: set[str]) -> dict[str, str]:
    niks = {nik for nik in niks if nik}
    if not niks:
        return {}
    rows = session.execute(sa.select(Resident.nik, Resident.name).where(Resident.nik.in_(niks)))
    return dict(rows.all())


def resident_facts(session: Session, nik: str) -> domain.ResidentFacts | None:
    found = session.get(Resident, nik)
    return domain.ResidentFacts(found.village_code, found.status) if found else None


def village_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(sa.select(Village.village_code, Village.name)
                                .where(Village.village_code.in_(codes))).all())


def reference_point(session: Session, village_code: str) -> tuple[float, float] | None:
    from services.potential.models import Profile

    profile = session.get(Profile, village_code)
    if profile is None or profile.latitude is None:
        return None
    return (profile.latitude, profile.longitude)


def place(session: Session, village_code: str, latitude: float | None,
          longitude: float | None) -> list[str]:
    """Check a point is in Indonesia; the flags it earns against the village's reference."""
    domain.check_point(latitude, longitude)
    point = (latitude, longitude) if latitude is not None else None
    return domain.location_warnings(point, reference_point(session, village_code))


# -- photos ---------------------------------------------------------------------------------

def photo_dict(photo: Photo) -> dict:
    url = PHOTO_PATH.format(id=photo.id)
    return {"id": str(photo.id), "url": url, "thumbnail_url": f"{url}/thumbnail",
            "content_type": photo.content_type, "width": photo.width, "height": photo.height,
            "caption": photo.caption}


def photos_of(session: Session, owner_kind: str, owner_ids: list) -> dict[str, list[dict]]:
    """Photos per owner id (as strings), oldest first, for many owners in one query."""
    found: dict[str, list[dict]] = defaultdict(list)
    if not owner_ids:
        return found
    rows = session.scalars(sa.select(Photo).where(
        Photo.owner_kind == owner_kind, Photo.owner_id.in_([str(i) for i in owner_ids]))
        .order_by(Photo.uploaded_at, Photo.id))
    for photo in rows:
        found[photo.owner_id].append(photo_dict(photo))
    return found


# -- the public search catalogue ------------------------------------------------------------

def search_text(*parts: object) -> str:
    words = []
    for part in parts:
        if isinstance(part, list | tuple):
            words.extend(str(p) for p in part if p)
        elif part:
            words.append(str(part))
    return " ".join(words).lower()


def catalogue_put(session: Session, kind: str, entity_id: uuid.UUID, village_code: str, *,
                  name: str, summary: str | None, text: str, sector: str | None = None) -> None:
    values = {"village_code": village_code, "district_code": district_of(village_code),
              "sector": sector, "name": name, "summary": (summary or "")[:300] or None,
              "search_text": text, "updated_at": clock.now()}
    stmt = insert(CatalogueEntry).values(kind=kind, entity_id=entity_id, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["kind", "entity_id"],
                                               set_=values))


def catalogue_remove(session: Session, kind: str, entity_id: uuid.UUID) -> None:
    session.execute(sa.delete(CatalogueEntry).where(CatalogueEntry.kind == kind,
                                                    CatalogueEntry.entity_id == entity_id))
