"""Named refusals of finance rules; each is one of the kernel's kinds (services/common/rules)."""
from __future__ import annotations

from services.common.rules import InvalidValue, NotPermitted, Refused, WrongState

__all__ = ["InvalidValue", "NotPermitted"]


class BudgetNotDraft(WrongState):
    """Lines change only while the budget is a draft or an open amendment."""


class BudgetNotInState(WrongState):
    """The budget is not in a state that allows this step (approve an approved budget...)."""


class BudgetNotApproved(WrongState):
    """Money moves only against an approved budget."""


class AmendmentAlreadyMade(WrongState):
    """A budget year has one amendment (APBDes Perubahan) at most."""


class PaymentRequestNotInState(WrongState):
    """The payment request is not in a state that allows this step."""


class EntryAlreadyReversed(WrongState):
    """An entry is reversed once; a reversal itself is not reversed again."""


class PeriodClosed(WrongState):
    """The month of the date is closed: it takes no more postings."""


class PeriodNotClosable(WrongState):
    """Months close in order, once, and only after they have ended."""


class InsufficientBudget(Refused):
    """The amount is more than the line has left (budget - paid - approved-unpaid)."""


class LineInUse(Refused):
    """A line cannot shrink below, or be removed with, money already committed on it."""


class TaxDepositTooLarge(Refused):
    """More tax deposited than was withheld."""


class SettlementTooLarge(Refused):
    """An advance is settled for no more than was advanced."""
