"""The public catalogue across all villages, and the regency's counts.

Search reads one table (`catalogue`, kept in the same transaction as each business, tourism
site and organisation) with a trigram index on its text, so `q` matches any part of a word of
the name or description in every village at once (decision 0051).
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.errors import NotFound
from services.common.fields import load
from services.common.pagination import fetch_page
from services.potential import schemas
from services.potential.app import records
from services.potential.models import Business, CatalogueEntry, Organisation, TourismSite, Village

_HIT = schemas.SearchHit()


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def public_list(session: Session, what: str, village_code: str, query: dict) -> dict:
    """One of a village's public lists: businesses, organisations, tourism sites, posts,
    albums (published only, no personal data)."""
    from services.potential.app import businesses, organisations, publications, tourism

    lists = {"businesses": businesses.list_public, "organisations": organisations.list_public,
             "tourism_sites": tourism.list_public, "posts": publications.list_public_posts,
             "albums": lambda db, code, q: publications.list_albums(db, code, q, None,
                                                                    public=True)}
    if what not in lists:
        raise NotFound("No such list")
    return lists[what](session, village_code, query)


def search(session: Session, query: dict) -> dict:
    args = load(schemas.SearchArgs(), query)
    stmt = sa.select(CatalogueEntry)
    for word in (args["q"] or "").lower().split()[:8]:
        stmt = stmt.where(CatalogueEntry.search_text.like(_like(word)))
    if args["type"]:
        stmt = stmt.where(CatalogueEntry.kind == args["type"])
    if args["sector"]:
        stmt = stmt.where(CatalogueEntry.sector == args["sector"])
    if args["district_code"]:
        stmt = stmt.where(CatalogueEntry.district_code == args["district_code"])
    page, per_page = args["page"], args["per_page"]
    order = (CatalogueEntry.name, CatalogueEntry.entity_id)
    if args["q"]:
        # The matches come from the trigram index (a bitmap scan), then one pass gives the page
        # and the total. Rows are cached in memory, so a random read costs about a sequential
        # one: said for this query only, so the planner does not prefer a full scan for a word
        # that one business in ten has (decision 0051).
        session.execute(sa.text("SET LOCAL random_page_cost = 1.1"))
        counted = stmt.add_columns(sa.func.count().over().label("total")).order_by(
            *order).limit(per_page).offset((page - 1) * per_page)
        found = session.execute(counted).all()
        entries = [row[0] for row in found]
        total = found[0].total if found else (0 if page == 1 else session.scalar(
            sa.select(sa.func.count()).select_from(stmt.subquery())))
    else:  # browsing: the page from the name index, the total counted apart
        entries, total = fetch_page(session, stmt.order_by(*order), page, per_page)
    names = records.village_names(session, {entry.village_code for entry in entries})
    items = [_HIT.dump({**{c: getattr(entry, c) for c in (
        "kind", "village_code", "district_code", "sector", "name", "summary")},
        "entity_id": str(entry.entity_id), "village_name": names.get(entry.village_code)})
        for entry in entries]
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def regency(session: Session, query: dict) -> list[dict]:
    args = load(schemas.RegencyArgs(), query)
    live = Business.status != "closed"
    if args["by"] != "district":
        column = getattr(Business, args["by"])
        rows = session.execute(sa.select(column, sa.func.count()).where(live)
                               .group_by(column).order_by(column)).all()
        return [{"key": key, "name": None, "businesses": n, "tourism_sites": None,
                 "organisations": None} for key, n in rows]
    counts: dict[str, dict] = {}
    for model, name, where in ((Business, "businesses", live), (TourismSite, "tourism_sites",
                                                                  sa.true()),
                               (Organisation, "organisations", sa.true())):
        district = sa.func.left(model.village_code, 8)
        for key, n in session.execute(sa.select(district, sa.func.count()).where(where)
                                      .group_by(district)):
            counts.setdefault(key, {"key": key, "name": None, "businesses": 0,
                                    "tourism_sites": 0, "organisations": 0})[name] = n
    names = dict(session.execute(sa.select(Village.district_code, sa.func.min(
        Village.district_name)).group_by(Village.district_code)).all())
    return [{**row, "name": names.get(key)} for key, row in sorted(counts.items())]
