"""The public catalogue across all villages, and the regency's counts.

Search reads one table (`catalogue`, kept in the same transaction as each business, tourism
site and organisation) with a word index on its text, so `q` matches the beginnings of words of
the name or description in every village at once (decisions 0051, 0053).
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from services.common.errors import NotFound
from services.common.fields import load
from services.common.pagination import fetch_page
from services.potential import schemas
from services.potential.app import records
from services.potential.models import (
    Business,
    CatalogueEntry,
    Organisation,
    TourismSite,
    Village,
    search_config,
    search_vector,
)

_HIT = schemas.SearchHit()
WORDS = re.compile(r"[^\W_]+")  # letters and digits: what the text search parser calls words
MAX_WORDS = 8
# A word matching this many entries (a third of a regency's catalogue) fills a page within a
# few rows of the name index; fewer matches are cheaper to sort (measured: decision 0053).
BROAD_MATCHES = 20_000


def words_query(q: str) -> str | None:
    """`q` as a tsquery: each of its words (at most 8) must begin a word of the entry ("jahit"
    finds "jahitan", "emping" finds "keripik-emping"); None when it has no word at all."""
    words = WORDS.findall(q.lower())[:MAX_WORDS]
    return " & ".join(f"{word}:*" for word in words) or None


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
    if args["type"]:
        stmt = stmt.where(CatalogueEntry.kind == args["type"])
    if args["sector"]:
        stmt = stmt.where(CatalogueEntry.sector == args["sector"])
    if args["district_code"]:
        stmt = stmt.where(CatalogueEntry.district_code == args["district_code"])
    page, per_page = args["page"], args["per_page"]
    order = (CatalogueEntry.name, CatalogueEntry.entity_id)
    if not args["q"]:  # browsing: the page from the name index, the total counted apart
        entries, total = fetch_page(session, stmt.order_by(*order), page, per_page)
    else:
        entries, total = _matches(session, stmt, words_query(args["q"]), page, per_page)
    names = records.village_names(session, {entry.village_code for entry in entries})
    items = [_HIT.dump({**{c: getattr(entry, c) for c in (
        "kind", "village_code", "district_code", "sector", "name", "summary")},
        "entity_id": str(entry.entity_id), "village_name": names.get(entry.village_code)})
        for entry in entries]
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def _matches(session: Session, stmt: sa.Select, words: str | None, page: int,
             per_page: int) -> tuple[list[CatalogueEntry], int]:
    """The page and total of the entries with every word (decision 0053). The total comes
    from the word index alone. The page, for a word most entries have, is read along the name
    index until it is full; otherwise from the matches, sorted (PostgreSQL cannot estimate how
    many entries a word prefix matches, and walking the name index for a word that one entry
    in ten has, clustered in name order, took ten times as long)."""
    if words is None:
        return [], 0
    stmt = stmt.where(search_vector().op("@@")(sa.func.to_tsquery(search_config(), words)))
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    offset = (page - 1) * per_page
    if total == 0 or offset >= total:
        return [], total
    if total >= BROAD_MATCHES:
        rows = stmt.order_by(CatalogueEntry.name, CatalogueEntry.entity_id)
    else:
        hits = aliased(CatalogueEntry, stmt.cte("hits").prefix_with("MATERIALIZED"))
        rows = sa.select(hits).order_by(hits.name, hits.entity_id)
    return list(session.scalars(rows.limit(per_page).offset(offset))), total


def regency(session: Session, query: dict) -> list[dict]:
    args = load(schemas.RegencyArgs(), query)
    live = Business.status != "closed"
    if args["by"] in ("sector", "size_class"):
        column = getattr(Business, args["by"])
        rows = session.execute(sa.select(column, sa.func.count()).where(live)
                               .group_by(column).order_by(column)).all()
        return [{"key": key, "name": None, "businesses": n, "tourism_sites": None,
                 "organisations": None} for key, n in rows]
    # By district (a village code starts with its district's) or by village: one GROUP BY per
    # table, so the regency dashboard's 326 rows cost one call whatever the number of villages.
    by_village = args["by"] == "village"
    counts: dict[str, dict] = {}
    for model, name, where in ((Business, "businesses", live), (TourismSite, "tourism_sites",
                                                                  sa.true()),
                               (Organisation, "organisations", sa.true())):
        key_of = model.village_code if by_village else sa.func.left(model.village_code, 8)
        for key, n in session.execute(sa.select(key_of, sa.func.count()).where(where)
                                      .group_by(key_of)):
            counts.setdefault(key, {"key": key, "name": None, "businesses": 0,
                                    "tourism_sites": 0, "organisations": 0})[name] = n
    if by_village:
        names = dict(session.execute(sa.select(Village.village_code, Village.name).where(
            Village.village_code.in_(list(counts)))).all()) if counts else {}
    else:
        names = dict(session.execute(sa.select(Village.district_code, sa.func.min(
            Village.district_name)).group_by(Village.district_code)).all())
    return [{**row, "name": names.get(key)} for key, row in sorted(counts.items())]
