"""The regency's Dana Desa view and the public summary: approved budgets only."""
import pytest

from services.common.errors import NotFound
from services.finance.app import budgets, cash, reports, villages
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


def _village_event(code: str, name: str, updated_at: str) -> dict:
    return {"code": code, "name": name, "district_code": code[:8],
            "district_name": "Kecamatan Uji", "updated_at": updated_at}


def test_the_regency_view_names_every_village_and_shows_who_has_no_budget(finance):
    budgeted, missing = new_village(), new_village()
    finance(villages.apply_village, _village_event(budgeted, "Desa Anggaran",
                                                   "2026-01-02T00:00:00+00:00"))
    finance(villages.apply_village, _village_event(missing, "Desa Belum",
                                                   "2026-01-02T00:00:00+00:00"))
    # An older copy of the event (a redelivery after a rename) changes nothing.
    finance(villages.apply_village, _village_event(missing, "Nama Lama",
                                                   "2026-01-01T00:00:00+00:00"))
    finance.approved_budget(budgeted, {"dd": DANA_DESA})
    rows = {row["village_code"]: row for row in finance(
        reports.regency_view, YEAR, {"district": budgeted[:8], "sort": "village_name"})}
    assert (rows[budgeted]["village_name"], rows[budgeted]["status"],
            rows[budgeted]["dana_desa_budget"]) == ("Desa Anggaran", "approved", 100_000_000)
    assert (rows[missing]["village_name"], rows[missing]["status"],
            rows[missing]["dana_desa_budget"], rows[missing]["district_name"]) == (
        "Desa Belum", "none", 0, "Kecamatan Uji")
    assert all(code.startswith(budgeted[:8] + ".") for code in rows)
    names = [row["village_name"] for row in finance(
        reports.regency_view, YEAR, {"district": budgeted[:8], "sort": "village_name"})]
    assert names == sorted(names, key=lambda name: (name is None, name or ""))
    without = finance(reports.regency_view, YEAR, {"status": "none"})
    assert missing in {row["village_code"] for row in without}
    assert budgeted not in {row["village_code"] for row in without}
