"""Payment requests (SPP): filing, evidence, verify/approve under budget control, pay, settle.

Verify, approve and pay lock the budget line's row before reading what it has left, so two
requests racing for the last rupiah of a line are decided one after the other.
"""
from __future__ import annotations

import hashlib
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock, roles
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.fields import load
from services.common.objectstore import ObjectStoreClient, document_key
from services.common.outbox import Outbox
from services.common.pagination import fetch_page
from services.common.sniffing import SNIFF_BYTES, sniff_document
from services.finance import events, schemas
from services.finance.app import cash, records
from services.finance.domain import budgets, payments, taxes, values
from services.finance.domain.taxes import Withholding
from services.finance.models import BudgetLine, Evidence, PaymentRequest, PaymentRequestStep

_REQUEST = schemas.PaymentRequest()


def request_dict(request: PaymentRequest) -> dict:
    withheld = sum(tax["amount"] for tax in request.taxes or [])
    overdue = (request.kind == payments.ADVANCE and request.status == payments.PAID
               and request.paid_on is not None
               and payments.is_overdue(request.paid_on, clock.local_today(),
                                       records.ref_for(request.village_code).holidays))
    return _REQUEST.dump({
        **{column: getattr(request, column) for column in (
            "village_code", "year", "number", "kind", "status", "amount", "payee",
            "description", "taxes", "paid_on", "method", "settled_on", "actual_amount",
            "reject_reason", "created_at", "updated_at", "evidence", "steps")},
        "id": str(request.id), "line_id": str(request.line_id),
        "net_amount": request.amount - withheld, "overdue": overdue})


def _record_step(session: Session, request: PaymentRequest, step: str, before: str | None,
                 actor: dict | None, reason: str | None = None) -> None:
    session.add(PaymentRequestStep(request_id=request.id, village_code=request.village_code,
                                   step=step, from_status=before, to_status=request.status,
                                   actor=records.actor_summary(actor), reason=reason,
                                   at=request.updated_at))


def _emit(session: Session, outbox: Outbox, request: PaymentRequest) -> dict:
    session.flush()
    session.expire(request, ["steps", "evidence"])
    return events.emit_payment_request(session, outbox, request_dict(request))


def file_request(session: Session, outbox: Outbox, village_code: str, data: dict,
                 scope: str | None, actor: dict) -> dict:
    values.check_role(actor.get("role"), payments.FILERS, "file payment requests")
    payload = load(schemas.PaymentRequestCreate(), data)
    records.check_village(village_code, scope)
    line = records.line(session, payload["line_id"], scope, village_code=village_code,
                        field="line_id")
    payments.check_spending_line(line.account_code)
    budgets.check_spendable(line.budget.status)
    withholdings = taxes.check_withholdings(
        records.ref_for(village_code),
        [Withholding(tax["code"].upper(), tax["amount"]) for tax in payload["taxes"]],
        payload["amount"], clock.local_today())
    year = line.budget.year
    seq = records.next_number(session, village_code, year, records.REQUEST_SERIES)
    moment = clock.now()
    request = PaymentRequest(
        village_code=village_code, year=year, number=payments.request_number(seq, year),
        line_id=line.id, kind=payload["kind"], status=payments.SUBMITTED,
        amount=payload["amount"], payee=payload["payee"], description=payload["description"],
        taxes=[{"code": t.code, "amount": t.amount} for t in withholdings],
        filed_by=records.actor_summary(actor), created_at=moment, updated_at=moment)
    session.add(request)
    session.flush()
    _record_step(session, request, "file", None, actor)
    return _emit(session, outbox, request)


def get_request(session: Session, request_id: str, scope: str | None) -> dict:
    return request_dict(records.payment_request(session, request_id, scope))


def list_requests(session: Session, village_code: str, query: dict, scope: str | None) -> dict:
    args = load(schemas.PaymentRequestQuery(), query)
    records.check_village(village_code, scope)
    stmt = sa.select(PaymentRequest).where(PaymentRequest.village_code == village_code)
    if args["status"]:
        stmt = stmt.where(PaymentRequest.status == args["status"])
    if args["year"]:
        stmt = stmt.where(PaymentRequest.year == args["year"])
    rows, total = fetch_page(session, stmt.order_by(PaymentRequest.year.desc(),
                                                    PaymentRequest.number.desc()),
                             args["page"], args["per_page"])
    return {"items": [request_dict(row) for row in rows], "total": total,
            "page": args["page"], "per_page": args["per_page"]}


def step(session: Session, outbox: Outbox, request_id: str, step_name: str, data: dict,
         scope: str | None, actor: dict) -> dict:
    """verify, approve, pay, settle or reject; see payments.STEPS for who may do what."""
    data = data or {}
    request = records.payment_request(session, request_id, scope, lock=True)
    line = records.line(session, request.line_id, None, lock=True)
    reason = load(schemas.StepReason(), data)["reason"] if step_name == "reject" else None
    status = payments.decide_step(step_name, request.status, actor.get("role"), request.kind,
                                  reason=reason)
    if payments.STEPS[step_name].checks_budget:
        budgets.check_spendable(line.budget.status)
        use = records.line_use(session, line, line.budget.status, exclude=request.id)
        payments.check_within_budget(
            payments.line_label(line.account_code, line.activity_code, line.source),
            request.amount, use.remaining)
    if step_name == "pay":
        _pay(session, outbox, request, line, load(schemas.Pay(), data), actor)
    elif step_name == "settle":
        _settle(session, outbox, request, line, load(schemas.Settle(), data), actor)
    elif step_name == "reject":
        request.reject_reason = reason
    before = request.status
    request.status, request.updated_at = status, clock.now()
    _record_step(session, request, step_name, before, actor, reason)
    return _emit(session, outbox, request)


def _pay(session: Session, outbox: Outbox, request: PaymentRequest, line: BudgetLine,
         args: dict, actor: dict) -> None:
    """The gross leaves the cash book against the line; each tax withheld comes in as PFK."""
    values.check_date(args["date"], request.year, clock.local_today())
    postings = payments.payment_postings(
        records.ref_for(request.village_code), number=request.number, payee=request.payee,
        amount=request.amount, account_code=line.account_code, line_id=str(line.id),
        taxes=[Withholding(t["code"], t["amount"]) for t in request.taxes or []])
    for posting in postings:
        cash.post(session, outbox, request.village_code, request.year, args["date"],
                  args["method"], posting, actor, payment_request_id=request.id)
    request.paid_on, request.method = args["date"], args["method"]


def _settle(session: Session, outbox: Outbox, request: PaymentRequest, line: BudgetLine,
            args: dict, actor: dict) -> None:
    """The advance's accountability (SPJ): the unspent part comes back on the line."""
    today = clock.local_today()
    day = today if today.year == request.year else request.paid_on
    postings = payments.settlement_postings(
        number=request.number, advanced=request.amount, actual=args["actual_amount"],
        account_code=line.account_code, line_id=str(line.id))
    for posting in postings:
        cash.post(session, outbox, request.village_code, request.year, day,
                  request.method or "cash", posting, actor, payment_request_id=request.id)
    request.settled_on, request.actual_amount = day, args["actual_amount"]


# -- evidence (documents go to object storage through the gateway) ----------------------------

def evidence_key(session: Session, request_id: str, scope: str | None, actor: dict) -> dict:
    """Authorise an upload and say where the gateway must put it."""
    values.check_role(actor.get("role"), (*payments.FILERS, roles.TREASURER), "add evidence")
    request = records.payment_request(session, request_id, scope)
    _check_open_for_evidence(request)
    return {"key": document_key(request.village_code, "finance", "evidence"),
            "max_bytes": payments.MAX_EVIDENCE_BYTES, "allowed": list(payments.EVIDENCE_TYPES)}


def _check_open_for_evidence(request: PaymentRequest) -> None:
    if request.status in (payments.REJECTED, payments.SETTLED):
        raise Conflict(f"The payment request is {request.status}; no more evidence",
                       fields={"status": [request.status]})


def record_evidence(session: Session, store: ObjectStoreClient, request_id: str,
                    upload: dict, scope: str | None, actor: dict) -> dict:
    """Check the uploaded object (type from its bytes, size, hash) and attach it. A refused
    object is removed again, so bad input leaves nothing behind."""
    values.check_role(actor.get("role"), (*payments.FILERS, roles.TREASURER), "add evidence")
    request = records.payment_request(session, request_id, scope, lock=True)
    key = str(upload.get("key") or "")
    if not key.startswith(f"{request.village_code}/finance/evidence/") or ".." in key:
        raise ValidationFailed("Invalid evidence key", fields={"key": ["Not this request's."]})
    try:
        _check_open_for_evidence(request)
        try:
            data = store.get_bytes(key)
        except Exception as exc:  # noqa: BLE001 - a missing object is the caller's mistake
            raise ValidationFailed("The uploaded file was not found",
                                   fields={"key": ["No such object."]}) from exc
        content_type = sniff_document(data[:SNIFF_BYTES], len(data), payments.EVIDENCE_TYPES,
                                      payments.MAX_EVIDENCE_BYTES)
    except Exception:
        store.remove(key)
        raise
    session.add(Evidence(id=uuid.uuid4(), request_id=request.id,
                         village_code=request.village_code, object_key=key,
                         filename=str(upload.get("filename") or "evidence")[:200],
                         content_type=content_type, size=len(data),
                         sha256=hashlib.sha256(data).hexdigest(),
                         uploaded_by=records.actor_summary(actor), uploaded_at=clock.now()))
    request.updated_at = clock.now()
    session.flush()
    session.expire(request, ["evidence", "steps"])
    return request_dict(request)


def open_evidence(session: Session, request_id: str, evidence_id: str, scope: str | None,
                  actor: dict) -> dict:
    """Where one piece of evidence lies, for the gateway to stream it: only to those who may
    read the village's books, and only evidence of this request."""
    values.check_role(actor.get("role"), roles.FINANCE_READERS, "read payment evidence")
    request = records.payment_request(session, request_id, scope)
    wanted = records.as_uuid(evidence_id, "Evidence")
    for evidence in request.evidence:
        if evidence.id == wanted:
            return {"key": evidence.object_key, "filename": evidence.filename,
                    "content_type": evidence.content_type, "size": evidence.size,
                    "sha256": evidence.sha256}
    raise NotFound("Evidence not found")
