"""Realisation reports (LRA), the semester report, the public APBDes summary, the regency view.

Every figure is computed from the cash entries themselves, the same entries the books show, so
the report and the books cannot disagree: a line's realisation is what its entries moved (for
income: receipts minus payments; for spending: payments minus receipts, so a returned advance
or a reversal lowers it).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from services.finance.domain.books import Entry, cash_totals
from services.finance.domain.budgets import totals
from services.finance.domain.errors import InvalidValue
from services.finance.reference import (
    FINANCING_EXPENDITURE,
    INCOME,
    PFK,
    SPENDING,
    Reference,
    account_kind,
)

BY = ("account", "activity", "source")
OUTGOING = (SPENDING, FINANCING_EXPENDITURE)
DANA_DESA = "DDS"


@dataclass(frozen=True)
class LineFigures:
    id: str
    account_code: str
    activity_code: str | None
    source: str
    budget: int
    realised: int

    @property
    def kind(self) -> str | None:
        return account_kind(self.account_code)

    @property
    def remaining(self) -> int:
        return self.budget - self.realised


def realised_by_line(entries: Iterable[Entry]) -> dict[str, int]:
    """Each line's realisation from its entries, in the direction of its kind."""
    realised: dict[str, int] = defaultdict(int)
    for entry in entries:
        if entry.line_id is None:
            continue
        net = entry.payment - entry.receipt
        realised[entry.line_id] += net if account_kind(entry.account_code) in OUTGOING else -net
    return dict(realised)


def percent(part: int, whole: int) -> float:
    """Two decimals; 0 when nothing was budgeted (a report, not money)."""
    return round(part * 100 / whole, 2) if whole else 0.0


def _row(code: str, name: str, budget: int, realised: int) -> dict:
    return {"code": code, "name": name, "budget": budget, "realised": realised,
            "remaining": budget - realised, "percent": percent(realised, budget)}


def _grouped(lines: Iterable[LineFigures], key: Callable[[LineFigures], str],
             name: Callable[[str], str]) -> list[dict]:
    budget: dict[str, int] = defaultdict(int)
    realised: dict[str, int] = defaultdict(int)
    for line in lines:
        budget[key(line)] += line.budget
        realised[key(line)] += line.realised
    return [_row(code, name(code), budget[code], realised[code]) for code in sorted(budget)]


def figures_totals(lines: Iterable[LineFigures]) -> dict[str, dict[str, int]]:
    lines = list(lines)
    return {"budget": totals((line.account_code, line.budget) for line in lines).as_dict(),
            "realised": totals((line.account_code, line.realised) for line in lines).as_dict()}


def realisation(ref: Reference, lines: Sequence[LineFigures], by: str,
                entries: Iterable[Entry]) -> dict:
    """Rows `{code, name, budget, realised, remaining, percent}` grouped by account, activity
    (spending) or funding source (spending), the APBDes totals budgeted and realised, and the
    cash the entries moved (which equals the general cash book over the same days)."""
    if by == "account":
        rows = _grouped(lines, lambda line: line.account_code, lambda c: _account_name(ref, c))
    elif by == "activity":
        spending = [line for line in lines if line.kind == SPENDING]
        rows = _grouped(spending, lambda line: line.activity_code or "",
                        lambda c: _activity_name(ref, c))
    elif by == "source":
        rows = _grouped([line for line in lines if line.kind in OUTGOING], lambda line: line.source,
                        lambda c: ref.sources[c].name if c in ref.sources else c)
    else:
        raise InvalidValue(f"Group by one of: {', '.join(BY)}.", field="by")
    entries = list(entries)
    pfk = sum(e.receipt - e.payment for e in entries if account_kind(e.account_code) == PFK)
    return {"by": by, "rows": rows, "totals": figures_totals(lines),
            "cash": {**cash_totals(entries), "pfk_held": pfk}}


def _account_name(ref: Reference, code: str) -> str:
    account = ref.accounts.get(code)
    return account.name if account else code


def _activity_name(ref: Reference, code: str) -> str:
    activity = ref.activities.get(code)
    return activity.name if activity else code


def _bidang(line: LineFigures) -> str:
    """"02.03.04" -> "02": the bidang of a kegiatan."""
    return (line.activity_code or "").split(".")[0]


def semester_end(year: int) -> date:
    """Semester I (Laporan Realisasi Pelaksanaan APBDes Semester Pertama) ends on 30 June."""
    return date(year, 6, 30)


def public_summary(ref: Reference, lines: Sequence[LineFigures]) -> dict:
    """What residents see: income by source, spending by bidang, financing, realisation."""
    income = [line for line in lines if line.kind == INCOME]
    spending = [line for line in lines if line.kind == SPENDING]
    financing_totals = totals((line.account_code, line.budget) for line in lines)
    financing_realised = totals((line.account_code, line.realised) for line in lines)
    return {
        "income_by_source": _grouped(income, lambda line: line.source,
                                     lambda c: ref.sources[c].name if c in ref.sources else c),
        "spending_by_bidang": _grouped(spending, _bidang, lambda c: _activity_name(ref, c)),
        "financing": {
            "receipts": _row("6.1", "Penerimaan Pembiayaan", financing_totals.financing_receipts,
                             financing_realised.financing_receipts),
            "expenditures": _row("6.2", "Pengeluaran Pembiayaan",
                                 financing_totals.financing_expenditures,
                                 financing_realised.financing_expenditures),
            "net": {"budget": financing_totals.net_financing,
                    "realised": financing_realised.net_financing},
        },
        "totals": figures_totals(lines),
    }


def dana_desa(lines: Iterable[LineFigures]) -> dict:
    """The regency's view of one village: Dana Desa budgeted, received, and spent (percent)."""
    lines = [line for line in lines if line.source == DANA_DESA]
    budgeted = sum(line.budget for line in lines if line.kind == INCOME)
    received = sum(line.realised for line in lines if line.kind == INCOME)
    spent = sum(line.realised for line in lines if line.kind in OUTGOING)
    return {"dana_desa_budget": budgeted, "dana_desa_received": received,
            "dana_desa_spent": spent, "realised_percent": percent(spent, budgeted)}

