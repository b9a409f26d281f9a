"""Cash entries: posting (receipts, payments, tax), reversals, the books and month closing."""
from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock, roles
from services.common.fields import load
from services.common.outbox import Outbox
from services.finance import events, reference, schemas
from services.finance.app import records
from services.finance.domain import books, budgets, payments, taxes, values
from services.finance.domain.books import Entry, Posting
from services.finance.domain.errors import InvalidValue
from services.finance.models import CashEntry, ClosedPeriod, PaymentRequest

_ENTRY, _BOOK, _PERIOD = schemas.CashEntry(), schemas.CashBook(), schemas.ClosedPeriod()
CASH_HANDLERS = (roles.TREASURER,)


def entry_dict(entry: CashEntry) -> dict:
    return _ENTRY.dump(entry)


def post(session: Session, outbox: Outbox, village_code: str, year: int, day: date,
         method: str, posting: Posting, actor: dict | None, *,
         payment_request_id: uuid.UUID | None = None, reverses_id: uuid.UUID | None = None,
         reference_number: str | None = None) -> CashEntry:
    """Write one entry with the next number of the year's book, unless its month is closed."""
    books.check_posting(posting)
    # The number comes first: its locked counter row makes a month's closing wait for us.
    number = records.next_number(session, village_code, year, records.BOOK_SERIES)
    books.check_open(day, records.closed_months(session, village_code, year))
    entry = CashEntry(
        village_code=village_code, year=year, number=number, entry_date=day, kind=posting.kind,
        amount=posting.amount, account_code=posting.account_code,
        line_id=uuid.UUID(posting.line_id) if posting.line_id else None, method=method,
        description=posting.description, tax_code=posting.tax_code,
        reference=reference_number, payment_request_id=payment_request_id,
        reverses_id=reverses_id, posted_by=records.actor_summary(actor), posted_at=clock.now())
    session.add(entry)
    session.flush()
    events.emit_cash_entry(session, outbox, entry_dict(entry))
    return entry


def record_receipt(session: Session, outbox: Outbox, village_code: str, data: dict,
                   scope: str | None, actor: dict) -> dict:
    """Money in against an income or financing-receipt line (a Dana Desa tranche, ADD, PAD)."""
    values.check_role(actor.get("role"), CASH_HANDLERS, "record receipts")
    payload = load(schemas.ReceiptCreate(), data)
    records.check_village(village_code, scope)
    line = records.line(session, payload["line_id"], scope, village_code=village_code,
                        field="line_id")
    if reference.account_kind(line.account_code) not in (reference.INCOME,
                                                         reference.FINANCING_RECEIPT):
        raise InvalidValue("Receipts go to an income (4.*) or financing receipt (6.1.*) line.",
                           field="line_id")
    budgets.check_spendable(line.budget.status)
    values.check_date(payload["date"], line.budget.year, clock.local_today())
    entry = post(session, outbox, village_code, line.budget.year, payload["date"],
                 payload["method"], Posting(books.RECEIPT, payload["amount"], line.account_code,
                                            payload["description"], line_id=str(line.id)),
                 actor)
    return entry_dict(entry)


def _held(session: Session, village_code: str, year: int, tax_code: str) -> tuple[int, int]:
    rows = dict(session.execute(
        sa.select(CashEntry.kind, sa.func.sum(CashEntry.amount))
        .where(CashEntry.village_code == village_code, CashEntry.year == year,
               CashEntry.tax_code == tax_code)
        .group_by(CashEntry.kind)).all())
    return int(rows.get(books.RECEIPT) or 0), int(rows.get(books.PAYMENT) or 0)


def deposit_tax(session: Session, outbox: Outbox, village_code: str, data: dict,
                scope: str | None, actor: dict) -> dict:
    """Pass withheld tax on to the state (with the deposit's NTPN): a PFK payment."""
    values.check_role(actor.get("role"), CASH_HANDLERS, "deposit taxes")
    payload = load(schemas.TaxDepositCreate(), data)
    records.check_village(village_code, scope)
    ref = records.ref_for(village_code)
    account = ref.tax_account(payload["tax_code"])
    if account is None:
        raise InvalidValue("Unknown tax.", field="tax_code")
    day = payload["date"]
    values.check_date(day, day.year, clock.local_today())
    # Two deposits of the same tax must not both pass the check below.
    records.lock_series(session, village_code, day.year, records.BOOK_SERIES)
    withheld, deposited = _held(session, village_code, day.year, payload["tax_code"])
    taxes.check_deposit(payload["tax_code"], payload["amount"], withheld, deposited)
    entry = post(session, outbox, village_code, day.year, day, books.BANK,
                 Posting(books.PAYMENT, payload["amount"], account,
                         f"Setor {payload['tax_code']} NTPN {payload['reference']}",
                         tax_code=payload["tax_code"]),
                 actor, reference_number=payload["reference"])
    return entry_dict(entry)


def reverse(session: Session, outbox: Outbox, entry_id: str, data: dict, scope: str | None,
            actor: dict) -> dict:
    """A correction: the opposite entry, dated today, pointing at the original."""
    values.check_role(actor.get("role"), CASH_HANDLERS, "reverse entries")
    payload = load(schemas.StepReason(), data)
    original = records.cash_entry(session, entry_id, scope)
    records.lock_series(session, original.village_code, original.year, records.BOOK_SERIES)
    already = session.scalar(sa.select(sa.func.count()).where(
        CashEntry.reverses_id == original.id))
    posting = books.reversal(to_entry(original), bool(already), payload["reason"])
    today = clock.local_today()
    # A wrong entry of an earlier year is corrected on the year's last day if still open.
    day = today if today.year == original.year else date(original.year, 12, 31)
    entry = post(session, outbox, original.village_code, original.year, day, original.method,
                 posting, actor, payment_request_id=original.payment_request_id,
                 reverses_id=original.id)
    return entry_dict(entry)


def to_entry(row: CashEntry) -> Entry:
    return Entry(id=str(row.id), number=row.number, date=row.entry_date, kind=row.kind,
                 amount=row.amount, account_code=row.account_code, description=row.description,
                 method=row.method, line_id=str(row.line_id) if row.line_id else None,
                 tax_code=row.tax_code,
                 reverses_id=str(row.reverses_id) if row.reverses_id else None)


# What an Entry holds, read as plain rows: a year of entries built as ORM objects first cost
# more than reading them (docs/performance.md, finance).
_ENTRY_COLUMNS = (CashEntry.id, CashEntry.number, CashEntry.entry_date, CashEntry.kind,
                  CashEntry.amount, CashEntry.account_code, CashEntry.description,
                  CashEntry.method, CashEntry.line_id, CashEntry.tax_code, CashEntry.reverses_id)


def year_entries(session: Session, village_code: str, year: int,
                 upto: date | None = None) -> list[Entry]:
    query = sa.select(*_ENTRY_COLUMNS).where(CashEntry.village_code == village_code,
                                             CashEntry.year == year)
    if upto is not None:
        query = query.where(CashEntry.entry_date <= upto)
    return [to_entry(row) for row in session.execute(query.order_by(CashEntry.number))]


def year_movements(session: Session, village_code: str, year: int,
                   upto: date | None = None) -> list[Entry]:
    """The year's entries summed per kind and account, one Entry each: all that cash totals
    and the PFK held depend on. Loading a year of 5,000 entries as ORM objects took 2.4 s
    of a 2.5 s realisation report (docs/performance.md); this is one GROUP BY."""
    query = (sa.select(CashEntry.kind, CashEntry.account_code, sa.func.sum(CashEntry.amount))
             .where(CashEntry.village_code == village_code, CashEntry.year == year)
             .group_by(CashEntry.kind, CashEntry.account_code)
             .order_by(CashEntry.kind, CashEntry.account_code))
    if upto is not None:
        query = query.where(CashEntry.entry_date <= upto)
    end = upto or date(year, 12, 31)
    return [Entry(id="", number=0, date=end, kind=kind, amount=int(total),
                  account_code=account_code, description="")
            for kind, account_code, total in session.execute(query)]


def cash_book(session: Session, village_code: str, query: dict, scope: str | None) -> dict:
    """One book of a year from `from` to `to`: opening balance, entries, closing balance."""
    args = load(schemas.CashBookQuery(), query)
    records.check_village(village_code, scope)
    start, end = args.get("date_from"), args.get("date_to")
    year = args.get("year") or (start or end or clock.local_today()).year
    if (start and start.year != year) or (end and end.year != year):
        raise InvalidValue("A book covers one budget year.", field="from")
    overdue: list[str] = []
    if args["book"] == books.ADVANCE:
        advances = advance_list(session, village_code, year)
        rows = books.advance_rows(advances)
        today = clock.local_today()
        holidays = records.ref_for(village_code).holidays
        overdue = [a.id for a in advances
                   if a.settled_on is None and payments.is_overdue(a.paid_on, today, holidays)]
    else:
        rows = books.book_rows(args["book"], year_entries(session, village_code, year))
    book = books.running_book(rows, start, end, outstanding=args["book"] == books.ADVANCE)
    return _BOOK.dump({"book": args["book"], **book.as_dict(), "overdue_advances": overdue})


def advance_list(session: Session, village_code: str, year: int) -> list[books.Advance]:
    rows = session.scalars(sa.select(PaymentRequest).where(
        PaymentRequest.village_code == village_code, PaymentRequest.year == year,
        PaymentRequest.kind == payments.ADVANCE, PaymentRequest.paid_on.is_not(None))
        .order_by(PaymentRequest.paid_on, PaymentRequest.number))
    return [books.Advance(str(r.id), r.number, r.payee, r.amount, r.paid_on, r.settled_on)
            for r in rows]


def close_period(session: Session, outbox: Outbox, village_code: str, period: str,
                 scope: str | None, actor: dict) -> dict:
    """Close a month: it takes no more postings; its figures are kept."""
    values.check_role(actor.get("role"), CASH_HANDLERS, "close months")
    year, month = books.parse_period(period)
    records.check_village(village_code, scope)
    # No posting of this village's year runs while we close.
    records.lock_series(session, village_code, year, records.BOOK_SERIES)
    books.check_closable(year, month, records.closed_months(session, village_code, year),
                         clock.local_today())
    end = books.month_end(year, month)
    entries = year_entries(session, village_code, year, upto=end)
    month_entries = [e for e in entries if e.date.month == month]
    totals = books.cash_totals(month_entries)
    closed = ClosedPeriod(village_code=village_code, year=year, month=month,
                          receipts=totals["receipts"], payments=totals["payments"],
                          closing_balance=books.cash_totals(entries)["balance"],
                          closed_at=clock.now(), closed_by=records.actor_summary(actor))
    session.add(closed)
    session.flush()
    payload = _PERIOD.dump({"period": period, "receipts": closed.receipts,
                            "payments": closed.payments,
                            "closing_balance": closed.closing_balance,
                            "closed_at": closed.closed_at})
    return events.emit_period(session, outbox, village_code, payload)
