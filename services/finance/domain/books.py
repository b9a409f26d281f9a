"""Cash entries and the books built from them (Buku Kas Umum and its helper books).

An entry, once posted, is never changed or deleted: a correction is a reversal, an entry of
the opposite kind for the same amount that points at the original. A month, once closed,
takes no more postings; months close in order.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.finance.domain.errors import (
    EntryAlreadyReversed,
    InvalidValue,
    PeriodClosed,
    PeriodNotClosable,
)
from services.finance.domain.values import check_amount

RECEIPT, PAYMENT = "receipt", "payment"
KINDS = (RECEIPT, PAYMENT)
CASH, BANK = "cash", "bank"
METHODS = (CASH, BANK)
GENERAL, BANK_BOOK, TAX, ADVANCE = "general", "bank", "tax", "advance"
BOOKS = (GENERAL, BANK_BOOK, TAX, ADVANCE)


@dataclass(frozen=True)
class Posting:
    """What to post; the application adds the date, method, number and links."""
    kind: str
    amount: int
    account_code: str
    description: str
    line_id: str | None = None
    tax_code: str | None = None


@dataclass(frozen=True)
class Entry:
    """A posted cash entry, as the books and reports read it."""
    id: str
    number: int
    date: date
    kind: str
    amount: int
    account_code: str
    description: str
    method: str = CASH
    line_id: str | None = None
    tax_code: str | None = None
    reverses_id: str | None = None

    @property
    def receipt(self) -> int:
        return self.amount if self.kind == RECEIPT else 0

    @property
    def payment(self) -> int:
        return self.amount if self.kind == PAYMENT else 0


def check_posting(posting: Posting) -> Posting:
    if posting.kind not in KINDS:
        raise InvalidValue("An entry is a receipt or a payment.", field="kind")
    check_amount(posting.amount)
    return posting


def reversal(original: Entry, already_reversed: bool, reason: str) -> Posting:
    """The entry that cancels `original`: opposite kind, same amount, account, line and tax."""
    if not (reason or "").strip():
        raise InvalidValue("A reason is required.", field="reason")
    if original.reverses_id is not None:
        raise EntryAlreadyReversed("A reversal is not reversed again; post the entry anew.")
    if already_reversed:
        raise EntryAlreadyReversed(f"Entry {original.number} is already reversed.")
    kind = PAYMENT if original.kind == RECEIPT else RECEIPT
    return Posting(kind, original.amount, original.account_code,
                   f"Koreksi no. {original.number}: {reason.strip()}",
                   line_id=original.line_id, tax_code=original.tax_code)


# -- periods ---------------------------------------------------------------------------------

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(text: str) -> tuple[int, int]:
    """"2026-03" -> (2026, 3)."""
    match = PERIOD.match(text or "")
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise InvalidValue("A month is written YYYY-MM (years 2000 to 2100).", field="period")
    return int(match.group(1)), int(match.group(2))


def month_end(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def check_open(day: date, closed_months: Collection[tuple[int, int]]) -> None:
    """A posting dated in a closed month is refused."""
    if (day.year, day.month) in closed_months:
        raise PeriodClosed(f"{day.year}-{day.month:02d} is closed; it takes no more postings.",
                           field="date")


def check_closable(year: int, month: int, closed_months: Collection[tuple[int, int]],
                   today: date) -> None:
    """A month closes once, after it has ended, and after the months before it that year."""
    if (year, month) in closed_months:
        raise PeriodNotClosable(f"{year}-{month:02d} is already closed.", field="period")
    if month_end(year, month) >= today:
        raise PeriodNotClosable(f"{year}-{month:02d} has not ended yet.", field="period")
    if month > 1 and (year, month - 1) not in closed_months:
        raise PeriodNotClosable(f"Close {year}-{month - 1:02d} first.", field="period")


# -- books -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BookRow:
    id: str
    number: int
    date: date
    description: str
    receipt: int
    payment: int


def book_rows(book: str, entries: Iterable[Entry]) -> list[BookRow]:
    """The rows of the general, bank or tax book (the advance book comes from requests)."""
    if book == GENERAL:
        chosen = list(entries)
    elif book == BANK_BOOK:
        chosen = [e for e in entries if e.method == BANK]
    elif book == TAX:
        chosen = [e for e in entries if e.tax_code is not None]
    else:
        raise InvalidValue(f"Unknown book {book!r}.", field="book")
    return [BookRow(e.id, e.number, e.date, e.description, e.receipt, e.payment)
            for e in sorted(chosen, key=lambda e: (e.date, e.number))]


@dataclass(frozen=True)
class Book:
    opening_balance: int
    rows: tuple[tuple[BookRow, int], ...]  # each row with the balance after it
    closing_balance: int

    def as_dict(self) -> dict:
        return {"opening_balance": self.opening_balance, "closing_balance": self.closing_balance,
                "entries": [{"id": row.id, "number": row.number, "date": row.date,
                             "description": row.description, "receipt": row.receipt,
                             "payment": row.payment, "balance": balance}
                            for row, balance in self.rows]}


def running_book(rows: Sequence[BookRow], start: date | None = None, end: date | None = None,
                 outstanding: bool = False) -> Book:
    """Rows from `start` to `end` with a running balance; rows before `start` make the opening
    balance. The balance is receipts minus payments, or for the advance book (`outstanding`)
    what was advanced and not yet accounted for (payments minus receipts)."""
    sign = -1 if outstanding else 1
    opening = sum(sign * (r.receipt - r.payment) for r in rows
                  if start is not None and r.date < start)
    balance, shown = opening, []
    for row in rows:
        if (start is not None and row.date < start) or (end is not None and row.date > end):
            continue
        balance += sign * (row.receipt - row.payment)
        shown.append((row, balance))
    return Book(opening, tuple(shown), balance)


@dataclass(frozen=True)
class Advance:
    """An advance (UM) as the advance book (Buku Pembantu Panjar) sees it."""
    id: str
    number: str
    payee: str
    amount: int
    paid_on: date
    settled_on: date | None = None


def advance_rows(advances: Iterable[Advance]) -> list[BookRow]:
    """Paying an advance opens it (payment column); settling accounts for all of it."""
    rows = []
    for a in advances:
        rows.append(BookRow(a.id, 0, a.paid_on, f"Panjar {a.number} {a.payee}", 0, a.amount))
        if a.settled_on is not None:
            rows.append(BookRow(a.id, 0, a.settled_on, f"SPJ panjar {a.number}", a.amount, 0))
    rows.sort(key=lambda r: (r.date, r.receipt))
    return [BookRow(r.id, n, r.date, r.description, r.receipt, r.payment)
            for n, r in enumerate(rows, start=1)]


def cash_totals(entries: Iterable[Entry]) -> dict[str, int]:
    receipts = payments = 0
    for entry in entries:
        receipts += entry.receipt
        payments += entry.payment
    return {"receipts": receipts, "payments": payments, "balance": receipts - payments}
