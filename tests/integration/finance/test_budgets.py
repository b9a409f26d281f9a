"""APBDes against PostgreSQL: drafting, approval, the one amendment, versions, import, events."""
import base64
import io

import pytest
from openpyxl import Workbook

from services.common.errors import Conflict, Forbidden, NotFound, Unprocessable, ValidationFailed
from services.finance.app import budgets
from tests.integration.finance.conftest import (
    DANA_DESA,
    OUTBOX,
    ROAD,
    SUPPLIES,
    YEAR,
    new_village,
    staff,
)

pytestmark = pytest.mark.integration


def test_draft_approve_amend_and_keep_the_approved_original(finance):
    village = new_village()
    officer, head = staff("officer", village), staff("head", village)
    created = finance(budgets.create_budget, OUTBOX, village, {"year": YEAR}, village, officer)
    assert (created["status"], created["version"], created["lines"]) == ("draft", 1, [])
    income = finance(budgets.add_line, OUTBOX, village, YEAR, DANA_DESA, village, officer)
    road = finance(budgets.add_line, OUTBOX, village, YEAR, ROAD, village, officer)
    finance(budgets.change_line, OUTBOX, village, YEAR, road["id"], {"amount": 70_000_000},
            village, officer)
    approved = finance(budgets.step, OUTBOX, village, YEAR, "approve", village, head)
    assert approved["status"] == "approved"
    assert approved["totals"]["surplus_deficit"] == 30_000_000
    with pytest.raises(Conflict):  # approved: lines change only through the amendment
        finance(budgets.change_line, OUTBOX, village, YEAR, road["id"], {"amount": 1},
                village, officer)

    amending = finance(budgets.step, OUTBOX, village, YEAR, "amend", village, officer)
    assert (amending["status"], amending["version"]) == ("amending", 2)
    finance(budgets.change_line, OUTBOX, village, YEAR, road["id"], {"amount": 80_000_000},
            village, officer)
    amended = finance(budgets.step, OUTBOX, village, YEAR, "approve", village, head)
    assert (amended["status"], amended["version"]) == ("amended", 2)
    with pytest.raises(Conflict):
        finance(budgets.step, OUTBOX, village, YEAR, "amend", village, officer)

    versions = finance(budgets.versions, village, YEAR, village)
    assert [(v["version"], v["status"], v["totals"]["spending"]) for v in versions] == [
        (1, "approved", 70_000_000), (2, "amended", 80_000_000)]
    assert {line["id"] for line in versions[0]["lines"]} == {income["id"], road["id"]}
    assert finance.events(village) == [
        "budget.drafted", "budget.changed", "budget.changed", "budget.changed",
        "budget.approved", "budget.amendment_opened", "budget.changed", "budget.amended"]


def test_bad_lines_name_their_field_and_only_the_head_approves(finance):
    village = new_village()
    officer = staff("officer", village)
    finance(budgets.create_budget, OUTBOX, village, {"year": YEAR}, village, officer)
    for bad, field in (({**SUPPLIES, "activity_code": None}, "activity_code"),
                       ({**SUPPLIES, "account_code": "5.9.9"}, "account_code"),
                       ({**SUPPLIES, "source": "XYZ"}, "source"),
                       ({**SUPPLIES, "amount": 12.5}, "amount")):
        with pytest.raises(ValidationFailed) as refused:
            finance(budgets.add_line, OUTBOX, village, YEAR, bad, village, officer)
        assert field in refused.value.fields
    finance(budgets.add_line, OUTBOX, village, YEAR, SUPPLIES, village, officer)
    with pytest.raises(Forbidden):
        finance(budgets.step, OUTBOX, village, YEAR, "approve", village, officer)
    with pytest.raises(Conflict):
        finance(budgets.create_budget, OUTBOX, village, {"year": YEAR}, village, officer)


def test_another_villages_staff_find_nothing(finance):
    village, other = new_village(), new_village()
    finance.approved_budget(village, {"dd": DANA_DESA})
    with pytest.raises(NotFound):
        finance(budgets.get_budget, village, YEAR, other)
    with pytest.raises(NotFound):
        finance(budgets.create_budget, OUTBOX, village, {"year": YEAR + 1}, other,
                staff("officer", other))
    assert finance(budgets.get_budget, village, YEAR, None)["status"] == "approved"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_import_is_all_rows_or_none(finance):
    village = new_village()
    officer = staff("officer", village)
    bad = (b"Kode Rekening;Kode Kegiatan;Sumber Dana;Anggaran;Uraian\n"
           b"4.2.1;;DDS;100.000.000;Dana Desa\n"
           b"5.2.1;;DDS;5000000;no activity\n")
    with pytest.raises(Unprocessable) as refused:
        finance(budgets.import_lines, OUTBOX, village, YEAR, _b64(bad), "apbdes.csv", village,
                officer)
    assert refused.value.fields["rows"] == [
        {"line": 3, "field": "activity_code", "message": "Spending lines need an activity "
                                                         "(BB.SS.KK)."}]
    with pytest.raises(NotFound):  # nothing was written, not even the budget
        finance(budgets.get_budget, village, YEAR, village)

    book = Workbook()
    book.active.append(["account_code", "activity_code", "source", "amount", "description"])
    book.active.append(["4.2.1", None, "DDS", 100_000_000, "Dana Desa"])
    book.active.append(["5.2.1", "01.01.04", "DDS", 5_000_000, "ATK"])
    buffer = io.BytesIO()
    book.save(buffer)
    report = finance(budgets.import_lines, OUTBOX, village, YEAR, _b64(buffer.getvalue()),
                     "apbdes.xlsx", village, officer)
    assert report == {"rows": 2, "imported": 2, "errors": []}
    budget = finance(budgets.get_budget, village, YEAR, village)
    assert budget["totals"]["income"] == 100_000_000
    assert budget["totals"]["spending"] == 5_000_000


def test_an_amendment_cannot_cut_a_line_below_its_money_nor_drop_a_used_line(finance):
    from services.finance.app import payment_requests

    village = new_village()
    officer = staff("officer", village)
    lines = finance.approved_budget(village, {"supplies": SUPPLIES, "road": ROAD})
    request = finance(payment_requests.file_request, OUTBOX, village,
                      {"line_id": lines["supplies"], "kind": "LS", "amount": 4_000_000,
                       "payee": "Toko ATK", "description": "ATK"}, village, officer)
    for name, role in (("verify", "secretary"), ("approve", "head")):
        finance(payment_requests.step, OUTBOX, request["id"], name, {}, village,
                staff(role, village))
    finance(budgets.step, OUTBOX, village, YEAR, "amend", village, officer)
    with pytest.raises(Unprocessable, match="Rp4.000.000"):
        finance(budgets.change_line, OUTBOX, village, YEAR, lines["supplies"],
                {"amount": 3_999_999}, village, officer)
    with pytest.raises(Unprocessable):
        finance(budgets.remove_line, OUTBOX, village, YEAR, lines["supplies"], village, officer)
    finance(budgets.remove_line, OUTBOX, village, YEAR, lines["road"], village, officer)
    cut = finance(budgets.change_line, OUTBOX, village, YEAR, lines["supplies"],
                  {"amount": 4_000_000}, village, officer)
    # While the amendment is open the lower figure rules: nothing is left to spend.
    assert (cut["amount"], cut["approved_amount"], cut["remaining"]) == (
        4_000_000, 10_000_000, 0)
