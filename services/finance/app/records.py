"""Loading rows within the caller's village scope, numbers from locked counters, line figures."""
from __future__ import annotations

import uuid
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.common.errors import NotFound, ValidationFailed
from services.common.tenancy import check_scope, in_scope, one_in_scope
from services.finance import reference
from services.finance.domain import budgets, payments
from services.finance.domain.budgets import LineUse
from services.finance.models import (
    Budget,
    BudgetLine,
    CashEntry,
    ClosedPeriod,
    Counter,
    PaymentRequest,
)

BOOK_SERIES, REQUEST_SERIES = "bku", "spp"


def as_uuid(value: object, what: str, field: str = "id") -> uuid.UUID:
    """A malformed id is a 404 for a path and a 400 for a body field, never a 500."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        if field == "id":
            raise NotFound(f"{what} not found") from None
        raise ValidationFailed(f"Not a valid id: {field}", fields={field: ["Not a valid id."]}
                               ) from None


def actor_summary(actor: dict | None) -> dict | None:
    """Who did it, as stored beside a change (no NIK: finance staff log in by username)."""
    if not actor:
        return None
    return {"role": actor.get("role"), "username": actor.get("username")}


def check_village(village_code: str, scope: str | None) -> None:
    check_scope(scope, village_code)


def ref_for(village_code: str) -> reference.Reference:
    return reference.for_village(village_code)


def budget(session: Session, village_code: str, year: int, scope: str | None, *,
           lock: bool = False) -> Budget:
    if not in_scope(scope, village_code):
        raise NotFound("Budget not found")
    query = sa.select(Budget).where(Budget.village_code == village_code, Budget.year == year)
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound(f"No budget for {year}")
    return found


def line(session: Session, line_id: object, scope: str | None, *, village_code: str | None = None,
         field: str = "id", lock: bool = False) -> BudgetLine:
    """A budget line by id; from a body field (`field`), an unknown id is a 400 naming it."""
    query = sa.select(BudgetLine).where(BudgetLine.id == as_uuid(line_id, "Budget line", field))
    found = session.scalar(query.with_for_update() if lock else query)
    if (found is None or not in_scope(scope, found.village_code)
            or (village_code is not None and found.village_code != village_code)):
        if field == "id":
            raise NotFound("Budget line not found")
        raise ValidationFailed("No such budget line in this village",
                               fields={field: ["Unknown budget line."]})
    return found


def payment_request(session: Session, request_id: object, scope: str | None, *,
                    lock: bool = False) -> PaymentRequest:
    return one_in_scope(session, sa.select(PaymentRequest).where(
        PaymentRequest.id == as_uuid(request_id, "Payment request")), scope, "Payment request",
        lock=lock)


def cash_entry(session: Session, entry_id: object, scope: str | None) -> CashEntry:
    return one_in_scope(session, sa.select(CashEntry).where(
        CashEntry.id == as_uuid(entry_id, "Cash entry")), scope, "Cash entry")


def next_number(session: Session, village_code: str, year: int, series: str) -> int:
    """The next number of a series; the counter row stays locked until the transaction ends,
    which also serialises postings against the closing of a month."""
    statement = insert(Counter).values(village_code=village_code, year=year, series=series,
                                       value=1)
    statement = statement.on_conflict_do_update(
        index_elements=[Counter.village_code, Counter.year, Counter.series],
        set_={"value": Counter.value + 1}).returning(Counter.value)
    return session.execute(statement).scalar_one()


def lock_series(session: Session, village_code: str, year: int, series: str) -> None:
    """Hold a series' counter row without taking a number: a decision that reads the book
    (a month's closing, a tax deposit, a reversal) waits for postings in flight, and they for
    it."""
    session.execute(insert(Counter).values(village_code=village_code, year=year, series=series,
                                           value=0).on_conflict_do_nothing())
    session.execute(sa.select(Counter.value).where(
        Counter.village_code == village_code, Counter.year == year, Counter.series == series)
        .with_for_update())


def closed_months(session: Session, village_code: str, year: int) -> set[tuple[int, int]]:
    rows = session.execute(sa.select(ClosedPeriod.year, ClosedPeriod.month).where(
        ClosedPeriod.village_code == village_code, ClosedPeriod.year == year))
    return {(row.year, row.month) for row in rows}


def realised_by_line(session: Session, line_ids: list[uuid.UUID],
                     upto: object = None) -> dict[uuid.UUID, int]:
    """Each line's realisation from its entries, in the direction of its kind."""
    if not line_ids:
        return {}
    signed = sa.case((CashEntry.kind == "payment", CashEntry.amount), else_=-CashEntry.amount)
    query = (sa.select(CashEntry.line_id, CashEntry.account_code, sa.func.sum(signed))
             .where(CashEntry.line_id.in_(line_ids))
             .group_by(CashEntry.line_id, CashEntry.account_code))
    if upto is not None:
        query = query.where(CashEntry.entry_date <= upto)
    realised: dict[uuid.UUID, int] = defaultdict(int)
    for line_id, account_code, net_paid in session.execute(query):
        outgoing = reference.account_kind(account_code) in (reference.SPENDING,
                                                             reference.FINANCING_EXPENDITURE)
        realised[line_id] += int(net_paid) if outgoing else -int(net_paid)
    return dict(realised)


def approved_unpaid_by_line(session: Session, line_ids: list[uuid.UUID],
                            exclude: uuid.UUID | None = None) -> dict[uuid.UUID, int]:
    query = (sa.select(PaymentRequest.line_id, sa.func.sum(PaymentRequest.amount))
             .where(PaymentRequest.line_id.in_(line_ids),
                    PaymentRequest.status == payments.APPROVED)
             .group_by(PaymentRequest.line_id))
    if exclude is not None:
        query = query.where(PaymentRequest.id != exclude)
    return {line_id: int(total) for line_id, total in session.execute(query)} if line_ids else {}


def line_use(session: Session, budget_line: BudgetLine, status: str,
             exclude: uuid.UUID | None = None) -> LineUse:
    """What the line may still spend (call with the line row locked for a decision)."""
    ids = [budget_line.id]
    return LineUse(
        budget=budgets.control_amount(status, budget_line.amount, budget_line.approved_amount),
        realised=realised_by_line(session, ids).get(budget_line.id, 0),
        approved_unpaid=approved_unpaid_by_line(session, ids, exclude).get(budget_line.id, 0))
