"""APBDes: drafting lines by hand or from a spreadsheet, approval, the amendment, versions."""
from __future__ import annotations

import base64
import binascii

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.common.errors import Conflict, NotFound, Unprocessable, ValidationFailed
from services.common.fields import load
from services.common.outbox import Outbox
from services.finance import budget_import, events, schemas
from services.finance.app import records
from services.finance.domain import budgets
from services.finance.domain.budgets import LineInput
from services.finance.domain.errors import BudgetNotDraft
from services.finance.domain.values import check_role
from services.finance.models import Budget, BudgetLine, BudgetVersion, PaymentRequest
from services.finance.reference import Reference

_BUDGET, _LINE, _VERSION = schemas.Budget(), schemas.Line(), schemas.BudgetVersion()
_IMPORT = schemas.BudgetImportReport()


def budget_dict(session: Session, budget: Budget) -> dict:
    """The budget with each line's realisation and what it has left, and the totals."""
    lines = list(budget.lines)
    ids = [line.id for line in lines]
    realised = records.realised_by_line(session, ids)
    unpaid = records.approved_unpaid_by_line(session, ids)
    ref = records.ref_for(budget.village_code)
    return _BUDGET.dump({
        "id": str(budget.id), "village_code": budget.village_code, "year": budget.year,
        "status": budget.status, "version": budget.version, "updated_at": budget.updated_at,
        "lines": [line_dict(line, ref, realised.get(line.id, 0), unpaid.get(line.id, 0))
                  for line in lines],
        "totals": budgets.totals((line.account_code, line.amount) for line in lines).as_dict(),
    })


def line_dict(line: BudgetLine, ref: Reference, realised: int = 0,
              approved_unpaid: int = 0) -> dict:
    account = ref.accounts.get(line.account_code)
    return _LINE.dump({
        "id": str(line.id), "account_code": line.account_code,
        "account_name": account.name if account else line.account_code,
        "activity_code": line.activity_code, "source": line.source, "amount": line.amount,
        "approved_amount": line.approved_amount, "description": line.description,
        "realised": realised, "approved_unpaid": approved_unpaid,
        "remaining": line.amount - realised - approved_unpaid})


def _emit(session: Session, outbox: Outbox, budget: Budget, event_type: str) -> dict:
    return events.emit_budget(session, outbox, budget_dict(session, budget), event_type)


def _new_budget(session: Session, village_code: str, year: int, actor: dict | None) -> Budget:
    exists = session.scalar(sa.select(sa.func.count()).where(
        Budget.village_code == village_code, Budget.year == year))
    if exists:
        raise Conflict(f"The village already has a budget for {year}",
                       fields={"year": ["A budget for this year exists."]})
    moment = clock.now()
    budget = Budget(village_code=village_code, year=year, status=budgets.DRAFT, version=1,
                    created_at=moment, updated_at=moment,
                    created_by=records.actor_summary(actor))
    session.add(budget)
    session.flush()
    return budget


def create_budget(session: Session, outbox: Outbox, village_code: str, data: dict,
                  scope: str | None, actor: dict) -> dict:
    check_role(actor.get("role"), budgets.DRAFTERS, "draft a budget")
    payload = load(schemas.BudgetCreate(), data)
    records.check_village(village_code, scope)
    budget = _new_budget(session, village_code, payload["year"], actor)
    return _emit(session, outbox, budget, events.BUDGET_DRAFTED)


def get_budget(session: Session, village_code: str, year: int, scope: str | None) -> dict:
    return budget_dict(session, records.budget(session, village_code, year, scope))


def _line_input(data: dict) -> LineInput:
    return LineInput(account_code=data["account_code"], activity_code=data.get("activity_code"),
                     source=data["source"], amount=data["amount"],
                     description=data.get("description"))


def add_line(session: Session, outbox: Outbox, village_code: str, year: int, data: dict,
             scope: str | None, actor: dict) -> dict:
    check_role(actor.get("role"), budgets.DRAFTERS, "change a budget")
    payload = load(schemas.LineCreate(), data)
    budget = records.budget(session, village_code, year, scope, lock=True)
    budgets.check_editable(budget.status)
    ref = records.ref_for(village_code)
    checked = budgets.check_line(ref, _line_input(payload))
    position = session.scalar(sa.select(sa.func.coalesce(sa.func.max(BudgetLine.position), 0))
                              .where(BudgetLine.budget_id == budget.id)) + 1
    line = BudgetLine(budget=budget, village_code=village_code, position=position,
                      account_code=checked.account_code, activity_code=checked.activity_code,
                      source=checked.source, amount=checked.amount,
                      description=checked.description, approved_amount=0)
    session.add(line)
    budget.updated_at = clock.now()
    session.flush()
    _emit(session, outbox, budget, events.BUDGET_CHANGED)
    return line_dict(line, ref)


def change_line(session: Session, outbox: Outbox, village_code: str, year: int, line_id: str,
                changes: dict, scope: str | None, actor: dict) -> dict:
    check_role(actor.get("role"), budgets.DRAFTERS, "change a budget")
    payload = load(schemas.LineChange(), changes)
    budget = records.budget(session, village_code, year, scope, lock=True)
    budgets.check_editable(budget.status)
    line = records.line(session, line_id, scope, village_code=village_code, lock=True)
    if line.budget_id != budget.id:
        raise NotFound("Budget line not found")
    current = LineInput(line.account_code, line.activity_code, line.source, line.amount,
                        line.description)
    merged = {**current.__dict__, **payload}
    ref = records.ref_for(village_code)
    new = budgets.check_line(ref, _line_input(merged))
    use = records.line_use(session, line, budget.status)
    budgets.check_line_change(current, new, use.committed)
    for name in ("account_code", "activity_code", "source", "amount", "description"):
        setattr(line, name, getattr(new, name))
    budget.updated_at = clock.now()
    session.flush()
    _emit(session, outbox, budget, events.BUDGET_CHANGED)
    return line_dict(line, ref, use.realised, use.approved_unpaid)


def remove_line(session: Session, outbox: Outbox, village_code: str, year: int, line_id: str,
                scope: str | None, actor: dict) -> None:
    check_role(actor.get("role"), budgets.DRAFTERS, "change a budget")
    budget = records.budget(session, village_code, year, scope, lock=True)
    budgets.check_editable(budget.status)
    line = records.line(session, line_id, scope, village_code=village_code, lock=True)
    if line.budget_id != budget.id:
        raise NotFound("Budget line not found")
    requests = session.scalar(sa.select(sa.func.count()).where(
        PaymentRequest.line_id == line.id))
    use = records.line_use(session, line, budget.status)
    budgets.check_line_removal(use.committed, requests)
    session.delete(line)
    budget.updated_at = clock.now()
    session.flush()
    session.expire(budget, ["lines"])
    _emit(session, outbox, budget, events.BUDGET_CHANGED)


def step(session: Session, outbox: Outbox, village_code: str, year: int, step_name: str,
         scope: str | None, actor: dict) -> dict:
    """approve (the original or the amendment) or amend (open the one amendment)."""
    budget = records.budget(session, village_code, year, scope, lock=True)
    status = budgets.decide_step(step_name, budget.status, actor.get("role"))
    moment = clock.now()
    if step_name == "amend":
        budget.version += 1
    else:
        budgets.check_has_lines(len(budget.lines))
        for line in budget.lines:
            line.approved_amount = line.amount
    budget.status, budget.updated_at = status, moment
    session.flush()
    payload = _emit(session, outbox, budget, events.BUDGET_EVENT_FOR_STATUS[status])
    if step_name == "approve":
        session.add(BudgetVersion(
            budget_id=budget.id, village_code=village_code, year=year, version=budget.version,
            status=status, lines=payload["lines"], totals=payload["totals"], approved_at=moment,
            approved_by=records.actor_summary(actor)))
        session.flush()
    return payload


def versions(session: Session, village_code: str, year: int, scope: str | None) -> list[dict]:
    budget = records.budget(session, village_code, year, scope)
    rows = session.scalars(sa.select(BudgetVersion).where(BudgetVersion.budget_id == budget.id)
                           .order_by(BudgetVersion.version))
    return _VERSION.dump(rows, many=True)


def import_lines(session: Session, outbox: Outbox, village_code: str, year: int,
                 content_base64: str, filename: str, scope: str | None, actor: dict) -> dict:
    """A draft's lines from CSV or XLSX: all rows or none (see budget_import.py)."""
    check_role(actor.get("role"), budgets.DRAFTERS, "change a budget")
    records.check_village(village_code, scope)
    try:
        content = base64.b64decode(content_base64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("The file is not base64", fields={"file": ["Not base64."]}
                               ) from None
    budget = session.scalar(sa.select(Budget).where(
        Budget.village_code == village_code, Budget.year == year).with_for_update())
    if budget is None:
        budget = _new_budget(session, village_code, year, actor)
        _emit(session, outbox, budget, events.BUDGET_DRAFTED)
    if budget.status != budgets.DRAFT:
        raise BudgetNotDraft("Only a draft budget is imported; change an approved "
                                     "budget through its amendment.", field="status")
    parsed = budget_import.parse(records.ref_for(village_code), content, filename or "")
    if parsed.errors:
        raise Unprocessable("The file has errors; nothing imported",
                            fields={"rows": list(parsed.errors)})
    for line in list(budget.lines):
        session.delete(line)
    session.flush()
    for position, line in enumerate(parsed.lines, start=1):
        session.add(BudgetLine(budget_id=budget.id, village_code=village_code, position=position,
                               account_code=line.account_code,
                               activity_code=line.activity_code, source=line.source,
                               amount=line.amount, description=line.description,
                               approved_amount=0))
    budget.updated_at = clock.now()
    session.flush()
    session.expire(budget, ["lines"])
    _emit(session, outbox, budget, events.BUDGET_CHANGED)
    return _IMPORT.dump({"rows": parsed.rows, "imported": len(parsed.lines), "errors": []})
