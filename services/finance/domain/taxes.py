"""Taxes withheld on spending (PPN, PPh 21/22/23/4(2)) and their deposit to the state.

Rates change, so each is looked up by the date it applies to; amounts are whole rupiah,
rounded down as the tax office does.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.finance.domain.errors import InvalidValue, TaxDepositTooLarge
from services.finance.domain.values import check_amount, rupiah
from services.finance.reference import Reference


@dataclass(frozen=True)
class Withholding:
    code: str
    amount: int


def expected_tax(ref: Reference, code: str, base: int, on: date) -> int:
    """The tax on `base` at the rate in force on `on` (0 below a tax's minimum base)."""
    rate = ref.tax_rate(code, on)
    if rate is None:
        raise InvalidValue(f"No {code} rate in force on {on.isoformat()}.", field="taxes")
    if rate.minimum_base is not None and base < rate.minimum_base:
        return 0
    return base * rate.rate_basis_points // 10_000


def check_withholdings(ref: Reference, taxes: Iterable[Withholding], gross: int,
                       on: date) -> tuple[Withholding, ...]:
    """Known taxes in force on `on`, each once, positive, together less than the gross."""
    checked: list[Withholding] = []
    for index, tax in enumerate(taxes):
        where = f"taxes.{index}"
        if ref.tax_rate(tax.code, on) is None:
            raise InvalidValue(f"Unknown tax or no rate in force: {tax.code}.",
                               fields={"taxes": {str(index): {"code": ["Unknown tax."]}}})
        if any(done.code == tax.code for done in checked):
            raise InvalidValue(f"{tax.code} is listed twice.",
                               fields={"taxes": {str(index): {"code": ["Listed twice."]}}})
        check_amount(tax.amount, where)
        checked.append(tax)
    withheld = sum(tax.amount for tax in checked)
    if withheld >= gross:
        raise InvalidValue(f"Taxes withheld ({rupiah(withheld)}) must be less than the amount "
                           f"({rupiah(gross)}).", field="taxes")
    return tuple(checked)


def check_deposit(code: str, amount: int, withheld: int, deposited: int) -> None:
    """A deposit (with its NTPN) passes on no more of a tax than is still held."""
    check_amount(amount)
    held = withheld - deposited
    if amount > held:
        raise TaxDepositTooLarge(f"Only {rupiah(held)} of {code} is withheld and not yet "
                                 f"deposited; the deposit is {rupiah(amount)}.", field="amount")
