"""Villages are tenants (ARCHITECTURE rule 5): the one scope check services make.

`scope` is what the gateway passes: the caller's village, or None for regency-wide callers.
Another village's row is reported as absent, not forbidden, so its existence does not leak.
"""
from __future__ import annotations

from services.common.errors import NotFound


def in_scope(scope: str | None, village_code: str | None) -> bool:
    return scope is None or village_code == scope


def check_scope(scope: str | None, village_code: str | None, what: str = "Village") -> None:
    """NotFound unless a caller scoped to `scope` may reach `village_code`'s data."""
    if not in_scope(scope, village_code):
        raise NotFound(f"{what} not found")
