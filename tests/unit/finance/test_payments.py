"""Payment request (SPP) workflow, budget control, paying, settling advances, taxes."""
from datetime import date

import pytest

from services.common.rules import InvalidValue, NotPermitted
from services.finance import reference
from services.finance.domain import books, payments, taxes
from services.finance.domain.errors import (
    InsufficientBudget,
    PaymentRequestNotInState,
    SettlementTooLarge,
    TaxDepositTooLarge,
)
from services.finance.domain.taxes import Withholding

REF = reference.for_village("36.04.05.2001")


def walk(kind, *steps):
    status = payments.SUBMITTED
    roles = {"verify": "secretary", "approve": "head", "pay": "treasurer",
             "settle": "treasurer", "reject": "head"}
    for step in steps:
        status = payments.decide_step(step, status, roles[step], kind, reason="x")
    return status


def test_direct_payment_flow_and_advance_settlement():
    assert walk("LS", "verify", "approve", "pay") == payments.PAID
    assert walk("UM", "verify", "approve", "pay", "settle") == payments.SETTLED


def test_a_direct_payment_is_not_settled():
    with pytest.raises(PaymentRequestNotInState):
        walk("LS", "verify", "approve", "pay", "settle")


@pytest.mark.parametrize(("steps", "bad"), [
    ((), "approve"),                        # the secretary verifies first
    (("verify",), "pay"),                   # the head approves first
    (("verify", "approve", "pay"), "reject"),
    (("reject",), "verify"),
])
def test_steps_out_of_order_are_refused(steps, bad):
    with pytest.raises(PaymentRequestNotInState):
        walk("LS", *steps, bad)


@pytest.mark.parametrize(("step", "role"), [
    ("verify", "officer"), ("verify", "head"), ("approve", "secretary"),
    ("approve", "treasurer"), ("pay", "head"), ("reject", "treasurer")])
def test_each_step_belongs_to_its_role(step, role):
    sources = payments.STEPS[step].sources
    with pytest.raises(NotPermitted):
        payments.decide_step(step, sources[0], role, "LS", reason="x")


def test_rejecting_needs_a_reason():
    with pytest.raises(InvalidValue):
        payments.decide_step("reject", payments.VERIFIED, "secretary", "LS", reason="  ")


def test_over_the_remaining_budget_names_the_line_and_what_is_left():
    payments.check_within_budget("5.2.1 / 01.01.04 / DDS", 500, 500)
    with pytest.raises(InsufficientBudget) as refused:
        payments.check_within_budget("5.2.1 / 01.01.04 / DDS", 501, 500)
    assert "5.2.1 / 01.01.04 / DDS" in refused.value.message
    assert "Rp500 left" in refused.value.message
    assert "amount" in refused.value.fields


def test_requests_are_paid_from_spending_or_financing_expenditure_lines():
    payments.check_spending_line("5.2.1")
    payments.check_spending_line("6.2.2")
    for code in ("4.2.1", "6.1.1"):
        with pytest.raises(InvalidValue):
            payments.check_spending_line(code)


def test_paying_posts_the_gross_and_each_withheld_tax_as_a_pfk_receipt():
    postings = payments.payment_postings(
        REF, number="0001/SPP/2026", payee="CV Maju", amount=10_000_000, account_code="5.2.2",
        line_id="L1", taxes=[Withholding("PPH23", 200_000), Withholding("PPN", 1_100_000)])
    assert [(p.kind, p.amount, p.account_code, p.line_id, p.tax_code) for p in postings] == [
        ("payment", 10_000_000, "5.2.2", "L1", None),
        ("receipt", 200_000, "7.1.4", None, "PPH23"),
        ("receipt", 1_100_000, "7.1.1", None, "PPN")]


def test_settling_an_advance_returns_the_unspent_part_to_the_line():
    postings = payments.settlement_postings(number="0002/SPP/2026", advanced=5_000_000,
                                            actual=4_250_000, account_code="5.2.3",
                                            line_id="L2")
    assert [(p.kind, p.amount, p.line_id) for p in postings] == [("receipt", 750_000, "L2")]
    assert payments.settlement_postings(number="n", advanced=5, actual=5, account_code="5.2.3",
                                        line_id="L2") == []
    with pytest.raises(SettlementTooLarge):
        payments.settlement_postings(number="n", advanced=5, actual=6, account_code="5.2.3",
                                     line_id="L2")


def test_an_advance_is_overdue_after_ten_working_days():
    holidays = frozenset({date(2026, 5, 14)})  # Thursday: Ascension Day
    paid = date(2026, 5, 4)  # Monday
    assert not payments.is_overdue(paid, date(2026, 5, 19), holidays)  # 10 working days
    assert payments.is_overdue(paid, date(2026, 5, 20), holidays)
    # Without the holiday the tenth working day is a day earlier.
    assert payments.is_overdue(paid, date(2026, 5, 19), frozenset())


def test_request_numbers():
    assert payments.request_number(7, 2026) == "0007/SPP/2026"


def test_tax_by_rate_in_force_rounded_down_with_a_minimum_base():
    assert taxes.expected_tax(REF, "PPH23", 1_234_567, date(2026, 3, 1)) == 24_691
    assert taxes.expected_tax(REF, "PPN", 1_000_000, date(2022, 3, 31)) == 100_000
    assert taxes.expected_tax(REF, "PPN", 1_000_000, date(2022, 4, 1)) == 110_000
    assert taxes.expected_tax(REF, "PPH22", 2_000_000, date(2026, 3, 1)) == 0
    assert taxes.expected_tax(REF, "PPH22", 3_000_000, date(2026, 3, 1)) == 45_000


def test_withholdings_are_known_unique_positive_and_less_than_the_gross():
    on = date(2026, 3, 1)
    assert taxes.check_withholdings(REF, [Withholding("PPH23", 100)], 5_000, on)
    for bad in ([Withholding("VAT", 1)], [Withholding("PPH23", 1), Withholding("PPH23", 2)],
                [Withholding("PPH23", 0)], [Withholding("PPH23", 5_000)]):
        with pytest.raises(InvalidValue):
            taxes.check_withholdings(REF, bad, 5_000, on)


def test_no_more_tax_is_deposited_than_was_withheld():
    taxes.check_deposit("PPH23", 300, withheld=500, deposited=200)
    with pytest.raises(TaxDepositTooLarge):
        taxes.check_deposit("PPH23", 301, withheld=500, deposited=200)


def test_postings_are_positive_receipts_or_payments():
    books.check_posting(books.Posting("receipt", 1, "4.2.1", "x"))
    with pytest.raises(InvalidValue):
        books.check_posting(books.Posting("refund", 1, "4.2.1", "x"))
    with pytest.raises(InvalidValue):
        books.check_posting(books.Posting("payment", 0, "5.2.1", "x"))


def test_amounts_have_a_ceiling_far_below_bigint():
    from services.finance.domain.values import MAX_AMOUNT, check_amount

    assert check_amount(MAX_AMOUNT) == MAX_AMOUNT
    with pytest.raises(InvalidValue):
        check_amount(MAX_AMOUNT + 1)
