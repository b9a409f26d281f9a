"""Events the finance service emits, through the outbox (payload: the aggregate's full state).

The issue's catalogue (ARCHITECTURE: Events) plus the remaining steps of the same aggregates,
so the event log alone can rebuild every budget and payment request.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from services.common.outbox import Outbox

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


def emit_budget(session: Session, outbox: Outbox, state: dict, event_type: str) -> dict:
    """The whole budget (lines, totals) keyed by village and year."""
    outbox.record(session, event_type, village_code=state["village_code"],
                  aggregate_id=f"{state['village_code']}/{state['year']}", payload=state)
    return state


def emit_payment_request(session: Session, outbox: Outbox, state: dict) -> dict:
    """The request as `payment_request.<its status>`."""
    outbox.record(session, PAYMENT_REQUEST_EVENT_FOR_STATUS[state["status"]],
                  village_code=state["village_code"], aggregate_id=state["id"], payload=state)
    return state


def emit_cash_entry(session: Session, outbox: Outbox, state: dict) -> dict:
    """A posted entry; a reversal (it points at its original) as `cash_entry.reversed`."""
    event_type = CASH_ENTRY_REVERSED if state["reverses_id"] else CASH_ENTRY_POSTED
    outbox.record(session, event_type, village_code=state["village_code"],
                  aggregate_id=state["id"], payload=state)
    return state


def emit_period(session: Session, outbox: Outbox, village_code: str, state: dict) -> dict:
    outbox.record(session, PERIOD_CLOSED, village_code=village_code,
                  aggregate_id=f"{village_code}/{state['period']}", payload=state)
    return state
