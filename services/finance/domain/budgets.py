"""APBDes: the budget of a year, its lines and totals, and its one amendment (APBDes Perubahan).

A budget moves draft -> approved (head, by Perdes) -> amending -> amended. Lines keep their ids
through the amendment, so payment requests keep pointing at them; each approval stores a
version (a snapshot of lines and totals), so the approved original survives the amendment.
While an amendment is open, money moves against the lower of the approved and the proposed
amount of each line.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from services.common.roles import FINANCE_CLERKS, HEAD
from services.finance.domain.errors import (
    AmendmentAlreadyMade,
    BudgetNotApproved,
    BudgetNotDraft,
    BudgetNotInState,
    InvalidValue,
    LineInUse,
)
from services.finance.domain.values import check_amount, check_role, rupiah
from services.finance.reference import (
    FINANCING_EXPENDITURE,
    FINANCING_RECEIPT,
    INCOME,
    PFK,
    SPENDING,
    Reference,
    account_kind,
)

DRAFT, APPROVED, AMENDING, AMENDED = "draft", "approved", "amending", "amended"
STATUSES = (DRAFT, APPROVED, AMENDING, AMENDED)
EDITABLE = (DRAFT, AMENDING)
# Money moves against an approved budget, also while its amendment is being drafted.
SPENDABLE = (APPROVED, AMENDING, AMENDED)
DRAFTERS = FINANCE_CLERKS


@dataclass(frozen=True)
class Step:
    name: str
    moves: dict[str, str]  # from status -> to status
    roles: tuple[str, ...]


STEPS = {
    # The same step approves the original (-> approved) and the amendment (-> amended).
    "approve": Step("approve", {DRAFT: APPROVED, AMENDING: AMENDED}, (HEAD,)),
    "amend": Step("amend", {APPROVED: AMENDING}, DRAFTERS),
}


def decide_step(step_name: str, status: str, role: str | None) -> str:
    """The budget's new status after `step_name`, or why it is not allowed."""
    step = STEPS[step_name]
    check_role(role, step.roles, f"{step_name} a budget")
    if step_name == "amend" and status in (AMENDING, AMENDED):
        raise AmendmentAlreadyMade("This budget already has its amendment (APBDes Perubahan).")
    if status not in step.moves:
        raise BudgetNotInState(f"Cannot {step_name} a budget that is {status}.",
                               field="status")
    return step.moves[status]


def check_editable(status: str) -> None:
    if status not in EDITABLE:
        raise BudgetNotDraft(f"The budget is {status}: lines change only in a draft or an open "
                             "amendment.", field="status")


def check_has_lines(count: int) -> None:
    if count == 0:
        raise BudgetNotInState("A budget without lines cannot be approved.", field="lines")


def check_spendable(status: str) -> None:
    if status not in SPENDABLE:
        raise BudgetNotApproved(f"The budget is {status}: money moves only once it is approved.",
                                field="status")


# -- lines -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LineInput:
    account_code: str
    activity_code: str | None
    source: str
    amount: int
    description: str | None = None


def check_line(ref: Reference, line: LineInput) -> LineInput:
    """Known level-3/4 account, a kegiatan for spending only, a known source, whole rupiah."""
    account = ref.accounts.get(line.account_code)
    if account is None:
        raise InvalidValue("Unknown account.", field="account_code")
    if account.level < 3:
        raise InvalidValue("Budget on a level 3 or 4 account (e.g. 5.2.1).",
                           field="account_code")
    if account.kind == PFK:
        raise InvalidValue("PFK accounts hold withheld tax; they are not budgeted.",
                           field="account_code")
    if account.kind == SPENDING:
        if not line.activity_code:
            raise InvalidValue("Spending lines need an activity (BB.SS.KK).",
                               field="activity_code")
        activity = ref.activities.get(line.activity_code)
        if activity is None or activity.level != 3:
            raise InvalidValue("Unknown activity (kegiatan BB.SS.KK).", field="activity_code")
    elif line.activity_code:
        raise InvalidValue("Only spending (5.*) lines have an activity.", field="activity_code")
    if line.source not in ref.sources:
        raise InvalidValue("Unknown funding source.", field="source")
    check_amount(line.amount)
    return line


@dataclass(frozen=True)
class LineUse:
    """A line's figures for budget control: `budget` is what may be spent right now."""
    budget: int
    realised: int
    approved_unpaid: int

    @property
    def committed(self) -> int:
        return self.realised + self.approved_unpaid

    @property
    def remaining(self) -> int:
        return self.budget - self.committed


def control_amount(status: str, amount: int, approved_amount: int) -> int:
    """What a line may spend: nothing before approval; during an amendment the lower of the
    approved and the proposed amount, so a cut takes effect at once and a raise only when
    approved."""
    if status == DRAFT:
        return 0
    if status == AMENDING:
        return min(amount, approved_amount)
    return amount


def check_line_change(current: LineInput, new: LineInput, committed: int) -> None:
    """A line with money on it keeps its account, activity and source, and no less than that."""
    if committed == 0:
        return
    for name in ("account_code", "activity_code", "source"):
        if getattr(current, name) != getattr(new, name):
            raise LineInUse(f"The line already has {rupiah(committed)} paid or approved; its "
                            f"{name} cannot change.", field=name)
    if new.amount < committed:
        raise LineInUse(f"The line already has {rupiah(committed)} paid or approved; it cannot "
                        "be less than that.", field="amount")


def check_line_removal(committed: int, requests: int = 0) -> None:
    """A line goes only while no money and no payment request (even a pending one) uses it."""
    if committed:
        raise LineInUse(f"The line already has {rupiah(committed)} paid or approved; it cannot "
                        "be removed.", field="line_id")
    if requests:
        raise LineInUse(f"{requests} payment request(s) name this line; it cannot be removed.",
                        field="line_id")


# -- totals ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Totals:
    """The APBDes summary: financing is receipts minus expenditures, never a plain sum."""
    income: int = 0
    spending: int = 0
    financing_receipts: int = 0
    financing_expenditures: int = 0

    @property
    def surplus_deficit(self) -> int:
        return self.income - self.spending

    @property
    def net_financing(self) -> int:
        return self.financing_receipts - self.financing_expenditures

    @property
    def silpa(self) -> int:
        """Sisa lebih (kurang) pembiayaan anggaran: what is left when the year ends."""
        return self.surplus_deficit + self.net_financing

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "surplus_deficit": self.surplus_deficit,
                "net_financing": self.net_financing, "silpa": self.silpa}


TOTAL_FIELD = {INCOME: "income", SPENDING: "spending",
               FINANCING_RECEIPT: "financing_receipts",
               FINANCING_EXPENDITURE: "financing_expenditures"}


def totals(amounts: Iterable[tuple[str, int]]) -> Totals:
    """Totals of (account_code, amount) pairs."""
    sums = dict.fromkeys(TOTAL_FIELD.values(), 0)
    for account_code, amount in amounts:
        field = TOTAL_FIELD.get(account_kind(account_code) or "")
        if field:
            sums[field] += amount
    return Totals(**sums)
