"""Checks every finance input shares: whole-rupiah amounts, dates within the budget year, roles."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from services.finance.domain.errors import InvalidValue, NotPermitted

# A quadrillion rupiah: far above any village's year, far below BIGINT's limit.
MAX_AMOUNT = 10**15


def check_amount(value: object, field: str = "amount", *, allow_zero: bool = False) -> int:
    """Money is a whole number of rupiah: an int (never a float or a bool), positive."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue("Amounts are whole rupiah (an integer).", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidValue("Amounts must be positive.", field=field)
    if value > MAX_AMOUNT:
        raise InvalidValue(f"Amounts are at most {MAX_AMOUNT}.", field=field)
    return value


def check_date(value: date, year: int, today: date, field: str = "date") -> date:
    """A posting is dated inside its budget year and not in the future (the village's day)."""
    if value.year != year:
        raise InvalidValue(f"The date must be in the budget year {year}.", field=field)
    if value > today:
        raise InvalidValue("The date is in the future.", field=field)
    return value


def check_role(role: str | None, allowed: Iterable[str], action: str) -> None:
    if role not in tuple(allowed):
        raise NotPermitted(f"role {role!r} may not {action}")


def rupiah(amount: int) -> str:
    """Rp1.250.000: the Indonesian way, dots between thousands."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{abs(amount):,}".replace(",", ".")
