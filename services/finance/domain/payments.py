"""Payment requests (SPP): the spending flow and the budget control that guards it.

An activity officer files a request, direct (LS) or an advance (UM, panjar); the secretary
verifies it, the head approves it, the treasurer pays it. An advance is settled later (SPJ):
what was not spent comes back to the cash book. Verify and approve refuse a request larger
than what its line has left: budget - paid - approved but unpaid.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.common.roles import FINANCE_CLERKS, HEAD, SECRETARY, TREASURER
from services.finance.domain.books import PAYMENT, RECEIPT, Posting
from services.finance.domain.calendar import working_days_between
from services.finance.domain.errors import (
    InsufficientBudget,
    InvalidValue,
    PaymentRequestNotInState,
    SettlementTooLarge,
)
from services.finance.domain.taxes import Withholding
from services.finance.domain.values import check_amount, check_role, rupiah
from services.finance.reference import FINANCING_EXPENDITURE, SPENDING, Reference, account_kind

DIRECT, ADVANCE = "LS", "UM"
KINDS = (DIRECT, ADVANCE)
SUBMITTED, VERIFIED, APPROVED, PAID, SETTLED, REJECTED = (
    "submitted", "verified", "approved", "paid", "settled", "rejected")
STATUSES = (SUBMITTED, VERIFIED, APPROVED, PAID, SETTLED, REJECTED)
FILERS = FINANCE_CLERKS
ADVANCE_DEADLINE_WORKING_DAYS = 10
# Evidence: receipts (kuitansi), invoices and photos of the work.
EVIDENCE_TYPES = ("application/pdf", "image/jpeg", "image/png")
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Step:
    name: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    kinds: tuple[str, ...] = KINDS
    needs_reason: bool = False
    checks_budget: bool = False


STEPS = {
    "verify": Step("verify", (SUBMITTED,), VERIFIED, (SECRETARY,), checks_budget=True),
    "approve": Step("approve", (VERIFIED,), APPROVED, (HEAD,), checks_budget=True),
    "pay": Step("pay", (APPROVED,), PAID, (TREASURER,)),
    "settle": Step("settle", (PAID,), SETTLED, (TREASURER,), kinds=(ADVANCE,)),
    "reject": Step("reject", (SUBMITTED, VERIFIED, APPROVED), REJECTED, (SECRETARY, HEAD),
                   needs_reason=True),
}


def decide_step(step_name: str, status: str, role: str | None, kind: str,
                reason: str | None = None) -> str:
    """The request's new status after `step_name`, or why it is not allowed."""
    step = STEPS[step_name]
    check_role(role, step.roles, f"{step_name} a payment request")
    if kind not in step.kinds:
        raise PaymentRequestNotInState(f"Only advances ({ADVANCE}) are settled.", field="kind")
    if status not in step.sources:
        raise PaymentRequestNotInState(
            f"Cannot {step_name} a payment request that is {status}.",
            fields={"status": [f"expected one of {', '.join(step.sources)}"]})
    if step.needs_reason and not (reason or "").strip():
        raise InvalidValue("A reason is required.", field="reason")
    return step.target


def check_spending_line(account_code: str) -> None:
    if account_kind(account_code) not in (SPENDING, FINANCING_EXPENDITURE):
        raise InvalidValue("Payment requests are paid from a spending (5.*) or financing "
                           "expenditure (6.2.*) line.", field="line_id")


def check_within_budget(line_label: str, amount: int, remaining: int) -> None:
    """Refuse a request over what the line has left, naming the line and the amount left."""
    if amount > remaining:
        left = max(remaining, 0)
        raise InsufficientBudget(
            f"Line {line_label} has {rupiah(left)} left; the request is for {rupiah(amount)}.",
            fields={"amount": [f"At most {left} (left on line {line_label})."]})


def line_label(account_code: str, activity_code: str | None, source: str) -> str:
    """"5.2.1 / 01.01.04 / DDS": how treasurers name a budget line."""
    return " / ".join(part for part in (account_code, activity_code, source) if part)


def request_number(seq: int, year: int) -> str:
    """"0007/SPP/2026": the year's seventh payment request."""
    return f"{seq:04d}/SPP/{year}"


# -- paying and settling ---------------------------------------------------------------------

def payment_postings(ref: Reference, *, number: str, payee: str, amount: int, account_code: str,
                     line_id: str, taxes: Iterable[Withholding]) -> list[Posting]:
    """Paying posts the gross on the line, and each tax withheld as a PFK receipt to deposit."""
    postings = [Posting(PAYMENT, amount, account_code, f"{number} {payee}", line_id=line_id)]
    for tax in taxes:
        tax_account = ref.tax_account(tax.code)
        if tax_account is None:
            raise InvalidValue(f"Unknown tax {tax.code}.", field="taxes")
        postings.append(Posting(RECEIPT, tax.amount, tax_account,
                                f"{tax.code} dipotong atas {number}", tax_code=tax.code))
    return postings


def settlement_postings(*, number: str, advanced: int, actual: int, account_code: str,
                        line_id: str) -> list[Posting]:
    """Settling an advance (SPJ panjar): the unspent part comes back as a receipt on the line,
    which lowers the line's realisation to what was actually spent."""
    check_amount(actual, "actual_amount", allow_zero=True)
    if actual > advanced:
        raise SettlementTooLarge(f"The advance was {rupiah(advanced)}; it cannot be settled for "
                                 f"{rupiah(actual)} (file a new request for the difference).",
                                 field="actual_amount")
    returned = advanced - actual
    if returned == 0:
        return []
    return [Posting(RECEIPT, returned, account_code, f"Pengembalian sisa panjar {number}",
                    line_id=line_id)]


def is_overdue(paid_on: date, today: date, holidays: frozenset[date]) -> bool:
    """An advance not settled within 10 working days of its payment is overdue."""
    return working_days_between(paid_on, today, holidays) > ADVANCE_DEADLINE_WORKING_DAYS
