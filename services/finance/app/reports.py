"""Realisation reports (by account, activity, source; semester I), the public APBDes summary,
the regency's Dana Desa view and the reference data."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.errors import NotFound
from services.common.fields import load
from services.finance import reference, schemas
from services.finance.app import cash, records
from services.finance.domain import budgets, reports
from services.finance.domain.reports import LineFigures
from services.finance.models import Budget, BudgetLine, Village

_REALISATION, _PUBLIC = schemas.Realisation(), schemas.PublicSummary()
_REGENCY, _REFERENCE = schemas.RegencyRow(), schemas.Reference()
NO_BUDGET = "none"  # the regency view's status of a village without an approved budget


def _figures(session: Session, lines: list[BudgetLine], upto: date | None = None
             ) -> list[LineFigures]:
    """Each line's approved budget and realisation (up to a day, for the semester report)."""
    realised = records.realised_by_line(session, [line.id for line in lines], upto)
    return [LineFigures(str(line.id), line.account_code, line.activity_code, line.source,
                        line.approved_amount, realised.get(line.id, 0)) for line in lines]


def realisation(session: Session, village_code: str, query: dict, scope: str | None,
                semester: bool = False) -> dict:
    """Laporan Realisasi: the year so far, or semester I (up to 30 June) when `semester`."""
    args = load(schemas.RealisationQuery(), query)
    budget = records.budget(session, village_code, args["year"], scope)
    upto = reports.semester_end(budget.year) if semester else None
    ref = records.ref_for(village_code)
    report = reports.realisation(ref, _figures(session, list(budget.lines), upto), args["by"],
                                 cash.year_movements(session, village_code, budget.year, upto))
    return _REALISATION.dump({"village_code": village_code, "year": budget.year,
                              "period_end": upto, **report})


def public_summary(session: Session, village_code: str, year: int) -> dict:
    """What any resident may see, without a login: approved budgets only."""
    budget = session.scalar(sa.select(Budget).where(Budget.village_code == village_code,
                                                    Budget.year == year))
    if budget is None or budget.status not in budgets.SPENDABLE:
        raise NotFound(f"No approved budget for {year}")
    summary = reports.public_summary(records.ref_for(village_code),
                                     _figures(session, list(budget.lines)))
    return _PUBLIC.dump({"village_code": village_code, "year": year, "status": budget.status,
                         "version": budget.version, **summary})


def regency_view(session: Session, year: int, query: dict) -> list[dict]:
    """Per village: Dana Desa budgeted, received, spent (percent). Every village the registry
    has announced is listed, by name, those without an approved budget too (status `none`):
    the regency wants to see who is missing. Four queries whatever the number of villages."""
    args = load(schemas.RegencyQuery(), query)
    villages = session.scalars(sa.select(Village).where(
        *([Village.district_code == args["district"]] if args.get("district") else [])))
    names = {village.code: village for village in villages}
    budget_filter = [Budget.year == year, Budget.status.in_(budgets.SPENDABLE)]
    if args.get("district"):
        budget_filter.append(Budget.village_code.startswith(args["district"] + "."))
    budgets_by_id = {budget.id: budget for budget in session.scalars(
        sa.select(Budget).where(*budget_filter))}
    lines = list(session.scalars(sa.select(BudgetLine).where(
        BudgetLine.budget_id.in_(list(budgets_by_id)))))
    figures = _figures(session, lines)
    per_budget: dict = {budget_id: [] for budget_id in budgets_by_id}
    for line, figure in zip(lines, figures, strict=True):
        per_budget[line.budget_id].append(figure)
    rows = {budget.village_code: {"village_code": budget.village_code, "status": budget.status,
                                  **reports.dana_desa(per_budget[budget_id])}
            for budget_id, budget in budgets_by_id.items()}
    for code in names.keys() - rows.keys():
        rows[code] = {"village_code": code, "status": NO_BUDGET, **reports.dana_desa([])}
    for row in rows.values():
        village = names.get(row["village_code"])
        row["village_name"] = village.name if village else None
        row["district_code"] = village.district_code if village else None
        row["district_name"] = village.district_name if village else None
    if args.get("status"):
        rows = {code: row for code, row in rows.items() if row["status"] == args["status"]}
    key = args["sort"]
    ordered = sorted(rows.values(), key=lambda row: (row[key] is None, row[key] or 0))
    if args["order"] == "desc":
        ordered.reverse()
    return _REGENCY.dump(ordered, many=True)


def reference_data(regency_code: str | None) -> dict:
    """The chart of accounts (national and the regency's level 4), activities, sources, taxes."""
    ref = reference.for_regency(regency_code)
    return _REFERENCE.dump({
        "accounts": [{"code": a.code, "name": a.name, "level": a.level,
                      "regency_code": a.regency_code} for a in ref.accounts.values()],
        "activities": [{"code": a.code, "name": a.name, "level": a.level}
                       for a in ref.activities.values()],
        "sources": [{"code": s.code, "name": s.name} for s in ref.sources.values()],
        "taxes": [{"code": r.code, "name": r.name, "account_code": r.account_code,
                   "valid_from": r.valid_from.isoformat(),
                   "rate_basis_points": r.rate_basis_points, "minimum_base": r.minimum_base}
                  for r in ref.tax_rates],
    })
