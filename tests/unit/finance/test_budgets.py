"""APBDes workflow, line rules, totals and budget control figures."""
import pytest

from services.common.rules import InvalidValue, NotPermitted
from services.finance import reference
from services.finance.domain import budgets
from services.finance.domain.budgets import LineInput, LineUse
from services.finance.domain.errors import (
    AmendmentAlreadyMade,
    BudgetNotApproved,
    BudgetNotDraft,
    BudgetNotInState,
    LineInUse,
)

REF = reference.for_village("36.04.05.2001")


def line(account="5.2.1", activity="01.01.04", source="DDS", amount=1_000_000):
    return LineInput(account, activity, source, amount)


def test_approve_then_one_amendment_approved_the_same_way():
    status = budgets.decide_step("approve", budgets.DRAFT, "head")
    assert status == budgets.APPROVED
    status = budgets.decide_step("amend", status, "officer")
    assert status == budgets.AMENDING
    assert budgets.decide_step("approve", status, "head") == budgets.AMENDED


@pytest.mark.parametrize("status", [budgets.AMENDING, budgets.AMENDED])
def test_a_second_amendment_is_refused(status):
    with pytest.raises(AmendmentAlreadyMade):
        budgets.decide_step("amend", status, "head")


def test_a_draft_cannot_be_amended_and_an_approved_budget_not_approved_again():
    with pytest.raises(BudgetNotInState):
        budgets.decide_step("amend", budgets.DRAFT, "head")
    with pytest.raises(BudgetNotInState):
        budgets.decide_step("approve", budgets.APPROVED, "head")


@pytest.mark.parametrize("role", ["officer", "secretary", "treasurer", "resident", None])
def test_only_the_head_approves(role):
    with pytest.raises(NotPermitted):
        budgets.decide_step("approve", budgets.DRAFT, role)


def test_lines_change_only_in_a_draft_or_an_open_amendment():
    budgets.check_editable(budgets.DRAFT)
    budgets.check_editable(budgets.AMENDING)
    for status in (budgets.APPROVED, budgets.AMENDED):
        with pytest.raises(BudgetNotDraft):
            budgets.check_editable(status)


def test_money_moves_only_against_an_approved_budget():
    with pytest.raises(BudgetNotApproved):
        budgets.check_spendable(budgets.DRAFT)
    for status in budgets.SPENDABLE:
        budgets.check_spendable(status)


def test_a_valid_spending_and_income_line():
    budgets.check_line(REF, line())
    budgets.check_line(REF, line("5.3.5.01", "02.03.03"))
    budgets.check_line(REF, line("4.2.1", None, "DDS"))
    budgets.check_line(REF, line("6.1.1", None, "DLL"))


@pytest.mark.parametrize(("bad", "field"), [
    (line(account="9.9.9"), "account_code"),
    (line(account="5.2"), "account_code"),            # level 2 is not budgeted
    (line(account="7.1.4", activity=None), "account_code"),  # PFK is not budgeted
    (line(activity=None), "activity_code"),           # spending needs a kegiatan
    (line(activity="01.01"), "activity_code"),        # a sub-bidang is not a kegiatan
    (line(activity="09.09.09"), "activity_code"),
    (line(account="4.2.1"), "activity_code"),         # income has no activity
    (line(source="APBN"), "source"),
    (line(amount=0), "amount"),
    (line(amount=-5), "amount"),
    (line(amount=10.5), "amount"),
    (line(amount=True), "amount"),
])
def test_a_wrong_line_names_its_field(bad, field):
    with pytest.raises(InvalidValue) as refused:
        budgets.check_line(REF, bad)
    assert field in refused.value.fields


def test_another_regencys_level_four_account_is_unknown():
    elsewhere = reference.for_village("32.01.01.2001")
    with pytest.raises(InvalidValue):
        budgets.check_line(elsewhere, line("5.3.5.01", "02.03.03"))


def test_totals_keep_financing_as_receipts_minus_expenditures():
    totals = budgets.totals([("4.2.1", 1_000_000_000), ("4.2.3", 300_000_000),
                             ("5.2.1", 900_000_000), ("5.3.5.01", 450_000_000),
                             ("6.1.1", 80_000_000), ("6.2.2", 20_000_000)])
    assert totals.as_dict() == {
        "income": 1_300_000_000, "spending": 1_350_000_000,
        "financing_receipts": 80_000_000, "financing_expenditures": 20_000_000,
        "surplus_deficit": -50_000_000, "net_financing": 60_000_000, "silpa": 10_000_000}


def test_control_amount_during_an_amendment_is_the_lower_figure():
    assert budgets.control_amount(budgets.DRAFT, 500, 0) == 0
    assert budgets.control_amount(budgets.APPROVED, 500, 500) == 500
    assert budgets.control_amount(budgets.AMENDING, 300, 500) == 300
    assert budgets.control_amount(budgets.AMENDING, 900, 500) == 500
    assert budgets.control_amount(budgets.AMENDED, 900, 900) == 900


def test_remaining_is_budget_minus_paid_minus_approved_unpaid():
    use = LineUse(budget=1_000, realised=300, approved_unpaid=200)
    assert use.committed == 500
    assert use.remaining == 500


def test_a_line_with_money_on_it_keeps_its_codes_and_at_least_that_amount():
    current = line(amount=1_000)
    budgets.check_line_change(current, line(amount=600), committed=600)
    with pytest.raises(LineInUse) as refused:
        budgets.check_line_change(current, line(amount=599), committed=600)
    assert "amount" in refused.value.fields
    with pytest.raises(LineInUse):
        budgets.check_line_change(current, line(source="ADD"), committed=1)
    budgets.check_line_change(current, line(source="ADD", amount=1), committed=0)
    budgets.check_line_removal(0)
    with pytest.raises(LineInUse):
        budgets.check_line_removal(1)
    with pytest.raises(LineInUse, match="1 payment request"):
        budgets.check_line_removal(0, requests=1)
