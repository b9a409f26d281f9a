"""The regency's Dana Desa view and the public summary: approved budgets only."""
import pytest

from services.common.errors import NotFound
from services.finance.app import budgets, cash, reports
from tests.integration.finance.conftest import (
    DANA_DESA,
    OUTBOX,
    ROAD,
    YEAR,
    day,
    new_village,
    staff,
)

pytestmark = pytest.mark.integration


def test_the_regency_sees_each_approved_village_sorted(finance):
    low, high, draft = new_village(), new_village(), new_village()
    for village, received in ((low, 10_000_000), (high, 90_000_000)):
        lines = finance.approved_budget(village, {"dd": DANA_DESA, "road": ROAD})
        finance(cash.record_receipt, OUTBOX, village,
                {"date": day(2), "line_id": lines["dd"], "amount": received,
                 "description": "DD", "method": "bank"}, village, staff("treasurer", village))
    finance(budgets.create_budget, OUTBOX, draft, {"year": YEAR}, draft,
            staff("officer", draft))
    rows = finance(reports.regency_view, YEAR, {"sort": "dana_desa_received", "order": "desc"})
    mine = [row for row in rows if row["village_code"] in (low, high, draft)]
    assert [(r["village_code"], r["dana_desa_budget"], r["dana_desa_received"]) for r in mine] == [
        (high, 100_000_000, 90_000_000), (low, 100_000_000, 10_000_000)]
    received = [row["dana_desa_received"] for row in rows]
    assert received == sorted(received, reverse=True)
    with pytest.raises(NotFound):
        finance(reports.public_summary, draft, YEAR)
    assert finance(reports.public_summary, high, YEAR)["income_by_source"][0]["realised"] == (
        90_000_000)
