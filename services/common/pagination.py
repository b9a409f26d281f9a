"""One pagination shape for every list: `{items, total, page, per_page}` (STYLE: one way)."""
from __future__ import annotations

import sqlalchemy as sa
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy.orm import Session

MAX_PER_PAGE = 100
# Far past any real list, and small enough that page * per_page stays a valid SQL OFFSET.
MAX_PAGE = 1_000_000


class PageArgs(Schema):
    """`page` (from 1) and `per_page` (1 to 100); lists add their own filters by subclassing."""

    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def page_schema(item: type[Schema], name: str, **extra: fields.Field) -> type[Schema]:
    """The response schema of a page of `item`s (named for the OpenAPI document); `extra`
    fields after the four of every page."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item)),
        "total": fields.Integer(),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
        **extra,
    }, name=name)


def fetch_page(session: Session, stmt: sa.Select, page: int, per_page: int, *,
               scalars: bool = True) -> tuple[list, int]:
    """One page of `stmt`'s rows (in its order) and the total number of rows; whole rows rather
    than their first column with `scalars=False` (a Core table's select)."""
    total = session.scalar(sa.select(sa.func.count()).select_from(
        stmt.order_by(None).subquery()))
    limited = stmt.limit(per_page).offset((page - 1) * per_page)
    rows = (session.scalars(limited) if scalars else session.execute(limited)).all()
    return list(rows), total or 0
