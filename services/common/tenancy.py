"""Villages are tenants (ARCHITECTURE rule 5): the one scope check services make.

`scope` is what the gateway passes: the caller's village, or None for regency-wide callers.
Another village's row is reported as absent, not forbidden, so its existence does not leak.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.errors import NotFound


def in_scope(scope: str | None, village_code: str | None) -> bool:
    return scope is None or village_code == scope


def one_in_scope(session: Session, query: sa.Select, scope: str | None, what: str, *,
                 lock: bool = False):
    """The one row `query` finds if the caller's scope reaches its village, else NotFound."""
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None or not in_scope(scope, found.village_code):
        raise NotFound(f"{what} not found")
    return found


def check_scope(scope: str | None, village_code: str | None, what: str = "Village") -> None:
    """NotFound unless a caller scoped to `scope` may reach `village_code`'s data."""
    if not in_scope(scope, village_code):
        raise NotFound(f"{what} not found")
