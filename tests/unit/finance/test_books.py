"""Cash entries: reversals, closed months, running balances and the helper books."""
from datetime import date

import pytest

from services.common.rules import InvalidValue
from services.finance.domain import books
from services.finance.domain.books import Advance, Entry
from services.finance.domain.errors import EntryAlreadyReversed, PeriodClosed, PeriodNotClosable


def entry(number, day, kind, amount, account="5.2.1", method="cash", tax=None, line="L1",
          reverses=None):
    return Entry(id=f"e{number}", number=number, date=day, kind=kind, amount=amount,
                 account_code=account, description=f"entry {number}", method=method,
                 line_id=line, tax_code=tax, reverses_id=reverses)


def test_a_reversal_is_the_opposite_kind_for_the_same_amount_on_the_same_line():
    original = entry(4, date(2026, 3, 2), "payment", 750_000, tax=None)
    posting = books.reversal(original, already_reversed=False, reason="wrong payee")
    assert (posting.kind, posting.amount, posting.account_code, posting.line_id) == (
        "receipt", 750_000, "5.2.1", "L1")
    assert "wrong payee" in posting.description and "4" in posting.description


def test_an_entry_is_reversed_once_and_a_reversal_never():
    original = entry(4, date(2026, 3, 2), "payment", 750_000)
    with pytest.raises(EntryAlreadyReversed):
        books.reversal(original, already_reversed=True, reason="again")
    with pytest.raises(EntryAlreadyReversed):
        books.reversal(entry(5, date(2026, 3, 3), "receipt", 750_000, reverses="e4"),
                       already_reversed=False, reason="undo the undo")
    with pytest.raises(InvalidValue):
        books.reversal(original, already_reversed=False, reason=" ")


def test_a_closed_month_takes_no_postings():
    closed = {(2026, 1)}
    books.check_open(date(2026, 2, 1), closed)
    with pytest.raises(PeriodClosed):
        books.check_open(date(2026, 1, 31), closed)


def test_months_close_in_order_once_after_they_end():
    today = date(2026, 4, 10)
    books.check_closable(2026, 1, set(), today)
    books.check_closable(2026, 3, {(2026, 1), (2026, 2)}, today)
    with pytest.raises(PeriodNotClosable, match="Close 2026-01 first"):
        books.check_closable(2026, 2, set(), today)
    with pytest.raises(PeriodNotClosable, match="already closed"):
        books.check_closable(2026, 1, {(2026, 1)}, today)
    with pytest.raises(PeriodNotClosable, match="not ended"):
        books.check_closable(2026, 4, {(2026, 1), (2026, 2), (2026, 3)}, today)


def test_periods_are_written_yyyy_mm():
    assert books.parse_period("2026-03") == (2026, 3)
    assert books.month_end(2026, 2) == date(2026, 2, 28)
    assert books.month_end(2026, 12) == date(2026, 12, 31)
    for bad in ("2026-13", "2026-3", "03-2026", "0000-01", "", None):
        with pytest.raises(InvalidValue):
            books.parse_period(bad)


ENTRIES = [
    entry(1, date(2026, 1, 10), "receipt", 1_000_000, account="4.2.1", method="bank"),
    entry(2, date(2026, 2, 3), "payment", 300_000, method="cash"),
    entry(3, date(2026, 2, 3), "receipt", 6_000, account="7.1.4", tax="PPH23", line=None),
    entry(4, date(2026, 3, 1), "payment", 6_000, account="7.1.4", tax="PPH23", line=None),
]


def test_the_general_book_runs_from_an_opening_balance_to_a_closing_balance():
    rows = books.book_rows("general", reversed(ENTRIES))
    book = books.running_book(rows, start=date(2026, 2, 1), end=date(2026, 2, 28))
    assert book.opening_balance == 1_000_000
    assert [balance for _, balance in book.rows] == [700_000, 706_000]
    assert book.closing_balance == 706_000
    whole = books.running_book(rows)
    assert whole.closing_balance == sum(e.receipt - e.payment for e in ENTRIES) == 700_000
    assert whole.as_dict()["entries"][0]["receipt"] == 1_000_000


def test_the_bank_and_tax_books_are_their_entries_only():
    assert [r.number for r in books.book_rows("bank", ENTRIES)] == [1]
    tax = books.running_book(books.book_rows("tax", ENTRIES))
    assert [(r.receipt, r.payment, b) for r, b in tax.rows] == [(6_000, 0, 6_000),
                                                                (0, 6_000, 0)]
    with pytest.raises(InvalidValue):
        books.book_rows("ledger", ENTRIES)


def test_the_advance_book_shows_what_is_still_out():
    advances = [Advance("a", "0002/SPP/2026", "TPK", 5_000_000, date(2026, 2, 2),
                        date(2026, 2, 9)),
                Advance("b", "0003/SPP/2026", "TPK", 2_000_000, date(2026, 2, 5))]
    book = books.running_book(books.advance_rows(advances), outstanding=True)
    assert [b for _, b in book.rows] == [5_000_000, 7_000_000, 2_000_000]
    assert book.closing_balance == 2_000_000


def test_cash_totals():
    assert books.cash_totals(ENTRIES) == {"receipts": 1_006_000, "payments": 306_000,
                                          "balance": 700_000}
