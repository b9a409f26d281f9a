"""Receipts, reversals and closed months against PostgreSQL; tenancy of the books."""
import pytest

from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.finance.app import cash
from tests.integration.finance.conftest import (
    DANA_DESA,
    OUTBOX,
    SUPPLIES,
    YEAR,
    day,
    new_village,
    staff,
)

pytestmark = pytest.mark.integration


def receipt(finance, village, line_id, amount, when, role="treasurer"):
    return finance(cash.record_receipt, OUTBOX, village,
                   {"date": when, "line_id": line_id, "amount": amount,
                    "description": "Dana Desa", "method": "cash"}, village, staff(role, village))


def test_a_closed_month_takes_no_postings_and_months_close_in_order(finance):
    village = new_village()
    lines = finance.approved_budget(village, {"dd": DANA_DESA})
    treasurer = staff("treasurer", village)
    receipt(finance, village, lines["dd"], 5_000, day(1, 20))
    with pytest.raises(Conflict, match="first"):
        finance(cash.close_period, OUTBOX, village, f"{YEAR}-02", village, treasurer)
    closed = finance(cash.close_period, OUTBOX, village, f"{YEAR}-01", village, treasurer)
    assert (closed["receipts"], closed["closing_balance"]) == (5_000, 5_000)
    with pytest.raises(Conflict, match="closed"):
        receipt(finance, village, lines["dd"], 1_000, day(1, 31))
    with pytest.raises(Conflict, match="already closed"):
        finance(cash.close_period, OUTBOX, village, f"{YEAR}-01", village, treasurer)
    receipt(finance, village, lines["dd"], 1_000, day(2, 1))
    assert finance.events(village)[-3:] == ["cash_entry.posted", "period.closed",
                                            "cash_entry.posted"]


def test_a_reversal_corrects_and_points_at_the_original(finance):
    village = new_village()
    lines = finance.approved_budget(village, {"dd": DANA_DESA})
    treasurer = staff("treasurer", village)
    wrong = receipt(finance, village, lines["dd"], 9_000_000, day(4, 1))
    reversal = finance(cash.reverse, OUTBOX, wrong["id"], {"reason": "typed twice"}, village,
                       treasurer)
    assert (reversal["kind"], reversal["amount"], reversal["reverses_id"]) == (
        "payment", 9_000_000, wrong["id"])
    with pytest.raises(Conflict):
        finance(cash.reverse, OUTBOX, wrong["id"], {"reason": "again"}, village, treasurer)
    with pytest.raises(Conflict):
        finance(cash.reverse, OUTBOX, reversal["id"], {"reason": "undo"}, village, treasurer)
    book = finance(cash.cash_book, village, {"year": YEAR}, village)
    assert book["closing_balance"] == 0
    assert [e["id"] for e in book["entries"]] == [wrong["id"], reversal["id"]]
    assert finance.events(village)[-2:] == ["cash_entry.posted", "cash_entry.reversed"]


def test_receipts_check_line_date_role_and_village(finance):
    village, other = new_village(), new_village()
    lines = finance.approved_budget(village, {"dd": DANA_DESA, "supplies": SUPPLIES})
    with pytest.raises(ValidationFailed) as refused:
        receipt(finance, village, lines["supplies"], 1_000, day(1))
    assert "line_id" in refused.value.fields
    with pytest.raises(ValidationFailed) as refused:
        receipt(finance, village, lines["dd"], 1_000, f"{YEAR + 1}-01-02")
    assert "date" in refused.value.fields
    with pytest.raises(Forbidden):
        receipt(finance, village, lines["dd"], 1_000, day(1), role="officer")
    with pytest.raises(NotFound):
        finance(cash.record_receipt, OUTBOX, village,
                {"date": day(1), "line_id": lines["dd"], "amount": 1, "description": "x",
                 "method": "cash"}, other, staff("treasurer", other))
    with pytest.raises(NotFound):
        finance(cash.cash_book, village, {"year": YEAR}, other)
