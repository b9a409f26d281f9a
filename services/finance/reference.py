"""Reference data of village finance: chart of accounts, activities, funding sources, taxes.

Levels 1-3 of the chart of accounts and the bidang/sub-bidang/kegiatan codes are national
(Permendagri 20/2018); level 4 is set by each regency (a local rule), so a village sees the
national chart plus its own regency's level 4. Tax rates carry the date they took effect.
"""
from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

INCOME, SPENDING = "income", "spending"
FINANCING_RECEIPT, FINANCING_EXPENDITURE = "financing_receipt", "financing_expenditure"
PFK = "pfk"  # Perhitungan Fihak Ketiga: tax withheld, passed on to the state
# The first digits of an account code say what kind of money it is.
KIND_PREFIXES = (("4", INCOME), ("5", SPENDING), ("6.1", FINANCING_RECEIPT),
                 ("6.2", FINANCING_EXPENDITURE), ("7", PFK))


def account_kind(code: str) -> str | None:
    """income, spending, financing_receipt, financing_expenditure, pfk, or None (e.g. "6")."""
    for prefix, kind in KIND_PREFIXES:
        if code == prefix or code.startswith(prefix + "."):
            return kind
    return None


@dataclass(frozen=True)
class Account:
    code: str
    name: str
    level: int
    regency_code: str | None = None

    @property
    def kind(self) -> str | None:
        return account_kind(self.code)


@dataclass(frozen=True)
class Activity:
    """Bidang (level 1, `BB`), sub-bidang (2, `BB.SS`) or kegiatan (3, `BB.SS.KK`)."""
    code: str
    name: str

    @property
    def level(self) -> int:
        return self.code.count(".") + 1


@dataclass(frozen=True)
class Source:
    code: str
    name: str


@dataclass(frozen=True)
class TaxRate:
    """One tax's rate from `valid_from` on, in basis points (1100 = 11 %): no floats."""
    code: str
    name: str
    account_code: str
    valid_from: date
    rate_basis_points: int
    minimum_base: int | None = None  # PPh 22: only on purchases above Rp2 juta


@dataclass(frozen=True)
class Reference:
    accounts: Mapping[str, Account]
    activities: Mapping[str, Activity]
    sources: Mapping[str, Source]
    tax_rates: tuple[TaxRate, ...]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def tax_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(rate.code for rate in self.tax_rates))

    def tax_rate(self, code: str, on: date) -> TaxRate | None:
        """The rate of tax `code` in force on `on` (the latest that started on or before it)."""
        in_force = [r for r in self.tax_rates if r.code == code and r.valid_from <= on]
        return max(in_force, key=lambda r: r.valid_from) if in_force else None

    def tax_account(self, code: str) -> str | None:
        return next((r.account_code for r in self.tax_rates if r.code == code), None)

    def for_regency(self, regency_code: str | None) -> Reference:
        """The national chart plus `regency_code`'s own level-4 accounts."""
        accounts = {code: a for code, a in self.accounts.items()
                    if a.regency_code is None or a.regency_code == regency_code}
        return Reference(accounts, self.activities, self.sources, self.tax_rates,
                         self.holidays)

    def bidang(self, activity_code: str) -> Activity | None:
        return self.activities.get(activity_code.split(".")[0])


def _rows(filename: str) -> list[dict[str, str]]:
    with (DATA_DIR / filename).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=1)
def load() -> Reference:
    """Every regency's data as shipped in services/finance/data (read once per process)."""
    accounts = {row["code"]: Account(row["code"], row["name"], row["code"].count(".") + 1,
                                     row["regency_code"] or None)
                for row in _rows("accounts.csv")}
    activities = {row["code"]: Activity(row["code"], row["name"])
                  for row in _rows("activities.csv")}
    sources = {row["code"]: Source(row["code"], row["name"]) for row in _rows("sources.csv")}
    rates = tuple(TaxRate(row["code"], row["name"], row["account_code"],
                          date.fromisoformat(row["valid_from"]), int(row["rate_basis_points"]),
                          int(row["minimum_base"]) if row["minimum_base"] else None)
                  for row in _rows("taxes.csv"))
    holidays = frozenset(date.fromisoformat(row["date"]) for row in _rows("holidays.csv"))
    return Reference(accounts, activities, sources, rates, holidays)


def regency_of(village_code: str) -> str:
    """"36.04.05.2001" -> "36.04"."""
    return ".".join(village_code.split(".")[:2])


@lru_cache(maxsize=16)
def for_regency(regency_code: str | None) -> Reference:
    return load().for_regency(regency_code)


def for_village(village_code: str) -> Reference:
    return for_regency(regency_of(village_code))
