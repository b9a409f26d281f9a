"""Events the finance service emits, through the outbox (payload: the aggregate's full state).

The issue's catalogue (ARCHITECTURE: Events) plus the remaining steps of the same aggregates,
so the event log alone can rebuild every budget and payment request.
"""
from __future__ import annotations

BUDGET_DRAFTED = "budget.drafted"
BUDGET_CHANGED = "budget.changed"  # lines added, changed, removed or imported
BUDGET_APPROVED = "budget.approved"
BUDGET_AMENDMENT_OPENED = "budget.amendment_opened"
BUDGET_AMENDED = "budget.amended"
CASH_ENTRY_POSTED = "cash_entry.posted"
CASH_ENTRY_REVERSED = "cash_entry.reversed"  # payload: the reversal (reverses_id set)
PERIOD_CLOSED = "period.closed"

# The budget's event after a step, by the status the step led to.
BUDGET_EVENT_FOR_STATUS = {"approved": BUDGET_APPROVED, "amending": BUDGET_AMENDMENT_OPENED,
                           "amended": BUDGET_AMENDED}
PAYMENT_REQUEST_EVENT_FOR_STATUS = {
    status: f"payment_request.{status}"
    for status in ("submitted", "verified", "approved", "paid", "settled", "rejected")}
PAYMENT_REQUEST_APPROVED = PAYMENT_REQUEST_EVENT_FOR_STATUS["approved"]
PAYMENT_REQUEST_PAID = PAYMENT_REQUEST_EVENT_FOR_STATUS["paid"]
