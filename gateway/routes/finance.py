"""Village finance: APBDes, payment requests (SPP), cash books, realisation reports.

Who may do what is decided twice: here by role (401/403 before any work), and in the finance
service by the workflow's own table (so a wrong role is refused whatever the caller). Files
never travel over RPC as uploads: the service authorises and names the evidence object, the
gateway puts it into object storage; reports come back rendered, they are small.
"""
from __future__ import annotations

import base64
import re

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from gateway import documents
from gateway.auth import current_actor, public, requires, scope_for
from gateway.http import json_body, respond
from gateway.rpc import services
from gateway.schemas import ErrorSchema
from services.common import roles
from services.common.errors import NotFound, ValidationFailed
from services.common.sniffing import SNIFF_BYTES, sniff_document
from services.finance import schemas
from services.finance.domain.payments import EVIDENCE_TYPES, MAX_EVIDENCE_BYTES

blp = Blueprint("finance", __name__, url_prefix="/api/v1",
                description="Village finance: the APBDes, payment requests with budget "
                            "control, the cash books and realisation reports.")

READERS = roles.FINANCE_READERS
DRAFTERS = roles.FINANCE_CLERKS
TREASURER = (roles.TREASURER,)
MAX_IMPORT_BYTES = 2 * 1024 * 1024
YEAR = re.compile(r"^\d{4}$")


def _year(year: str) -> int:
    if not YEAR.match(year):
        raise NotFound("No budget for that year")
    return int(year)


def _file(limit: int) -> tuple[bytes, str]:
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("Send the file as a multipart field named 'file'.",
                               fields={"file": ["Missing file."]})
    data = upload.stream.read(limit + 1)  # one byte more tells us it is too large
    if len(data) > limit:
        raise ValidationFailed(f"The file is larger than {limit} bytes",
                               fields={"file": [f"At most {limit} bytes."]})
    return data, upload.filename or "file"


def _download(result: dict) -> Response:
    return Response(base64.b64decode(result["content_base64"]),
                    mimetype=result["content_type"], headers={
                        "Content-Disposition": f'attachment; filename="{result["filename"]}"'})


class FileForm(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


# -- reference -------------------------------------------------------------------------------

@blp.route("/finance/reference", methods=["GET"])
@public
@blp.arguments(schemas.ReferenceQuery, location="query", error_status_code=400)
@blp.response(200, schemas.Reference)
def reference(query: dict):
    """Chart of accounts (levels 1-3 national, 4 the regency's), activities, sources, taxes.

    Public, no login: the codes every APBDes uses are published rules, and a village website
    or an accountant's tool needs them. `regency` (default 36.04, Kabupaten Serang) picks the
    regency's own level-4 accounts."""
    return respond(services().finance.reference(query["regency"]))


# -- budgets ---------------------------------------------------------------------------------

@blp.route("/villages/<code>/budgets", methods=["POST"])
@requires(*DRAFTERS)
@blp.arguments(schemas.BudgetCreate, error_status_code=400)
@blp.response(201, schemas.Budget)
@blp.alt_response(409, schema=ErrorSchema, description="A budget for the year exists.")
def create_budget(data: dict, code: str):
    """Start the APBDes of a year as a draft (version 1, no lines)."""
    actor = current_actor()
    return respond(services().finance.create_budget(code, json_body(), scope_for(actor, code),
                                                    actor.as_dict()), 201)


@blp.route("/villages/<code>/budgets/<year>", methods=["GET"])
@requires(*READERS)
@blp.response(200, schemas.Budget)
@blp.alt_response(404, schema=ErrorSchema)
def get_budget(code: str, year: str):
    """The budget with its lines (realised and remaining per line) and totals."""
    return respond(services().finance.get_budget(code, _year(year),
                                                 scope_for(current_actor(), code)))


@blp.route("/villages/<code>/budgets/<year>/lines", methods=["POST"])
@requires(*DRAFTERS)
@blp.arguments(schemas.LineCreate, error_status_code=400)
@blp.response(201, schemas.Line)
@blp.alt_response(409, schema=ErrorSchema, description="The budget is not a draft.")
def add_line(data: dict, code: str, year: str):
    """Add a line; spending accounts (5.*) need an activity (BB.SS.KK)."""
    actor = current_actor()
    return respond(services().finance.add_line(code, _year(year), json_body(),
                                               scope_for(actor, code), actor.as_dict()), 201)


@blp.route("/villages/<code>/budgets/<year>/lines/<line_id>", methods=["PATCH"])
@requires(*DRAFTERS)
@blp.arguments(schemas.LineChange, error_status_code=400)
@blp.response(200, schemas.Line)
@blp.alt_response(409, schema=ErrorSchema, description="The budget is not a draft.")
def change_line(changes: dict, code: str, year: str, line_id: str):
    actor = current_actor()
    return respond(services().finance.change_line(code, _year(year), line_id, json_body(),
                                                  scope_for(actor, code), actor.as_dict()))


@blp.route("/villages/<code>/budgets/<year>/lines/<line_id>", methods=["DELETE"])
@requires(*DRAFTERS)
@blp.response(204)
@blp.alt_response(409, schema=ErrorSchema, description="The budget is not a draft.")
def remove_line(code: str, year: str, line_id: str):
    actor = current_actor()
    services().finance.remove_line(code, _year(year), line_id, scope_for(actor, code),
                                   actor.as_dict())
    return Response(status=204)


@blp.route("/villages/<code>/budgets/<year>/approve", methods=["POST"])
@requires(roles.HEAD)
@blp.response(200, schemas.Budget)
@blp.alt_response(409, schema=ErrorSchema, description="Not a draft or an open amendment.")
def approve_budget(code: str, year: str):
    """The head approves the draft (-> approved) or the amendment (-> amended)."""
    actor = current_actor()
    return respond(services().finance.budget_step(code, _year(year), "approve",
                                                  scope_for(actor, code), actor.as_dict()))


@blp.route("/villages/<code>/budgets/<year>/amendments", methods=["POST"])
@requires(*DRAFTERS)
@blp.response(201, schemas.Budget)
@blp.alt_response(409, schema=ErrorSchema, description="Not approved, or already amended.")
def open_amendment(code: str, year: str):
    """Open the one amendment (APBDes Perubahan) as the next version."""
    actor = current_actor()
    return respond(services().finance.budget_step(code, _year(year), "amend",
                                                  scope_for(actor, code), actor.as_dict()), 201)


@blp.route("/villages/<code>/budgets/<year>/versions", methods=["GET"])
@requires(*READERS)
@blp.response(200, schemas.BudgetVersion(many=True))
def budget_versions(code: str, year: str):
    """Each approved version: the original and, once approved, the amendment."""
    return respond(services().finance.budget_versions(code, _year(year),
                                                      scope_for(current_actor(), code)))


@blp.route("/villages/<code>/budgets/<year>/import", methods=["POST"])
@requires(*DRAFTERS)
@blp.arguments(FileForm, location="files", error_status_code=400)
@blp.response(200, schemas.BudgetImportReport)
@blp.alt_response(422, schema=ErrorSchema,
                  description="Rows with errors (fields.rows: line, field, message); nothing "
                              "imported.")
def import_budget(form: dict, code: str, year: str):
    """A draft's lines from CSV or XLSX (multipart `file`, at most 5,000 rows): all rows or
    none; columns account_code, activity_code, source, amount, description (or the Siskeudes
    names)."""
    actor = current_actor()
    scope = scope_for(actor, code)
    data, filename = _file(MAX_IMPORT_BYTES)
    return respond(services().finance.import_budget(
        code, _year(year), base64.b64encode(data).decode(), filename, scope, actor.as_dict()))


# -- cash ------------------------------------------------------------------------------------

@blp.route("/villages/<code>/receipts", methods=["POST"])
@requires(*TREASURER)
@blp.arguments(schemas.ReceiptCreate, error_status_code=400)
@blp.response(201, schemas.CashEntry)
@blp.alt_response(409, schema=ErrorSchema, description="The month is closed.")
def record_receipt(data: dict, code: str):
    """Money in: a Dana Desa, ADD or own-revenue tranche against an income line."""
    actor = current_actor()
    return respond(services().finance.record_receipt(code, json_body(), scope_for(actor, code),
                                                     actor.as_dict()), 201)


@blp.route("/villages/<code>/tax-deposits", methods=["POST"])
@requires(*TREASURER)
@blp.arguments(schemas.TaxDepositCreate, error_status_code=400)
@blp.response(201, schemas.CashEntry)
@blp.alt_response(422, schema=ErrorSchema, description="More than is withheld.")
def deposit_tax(data: dict, code: str):
    """Pass withheld tax on to the state; `reference` is the deposit's NTPN."""
    actor = current_actor()
    return respond(services().finance.deposit_tax(code, json_body(), scope_for(actor, code),
                                                  actor.as_dict()), 201)


@blp.route("/villages/<code>/cash-book", methods=["GET"])
@requires(*READERS)
@blp.arguments(schemas.CashBookQuery, location="query", error_status_code=400)
@blp.response(200, schemas.CashBook)
def cash_book(query: dict, code: str):
    """The general, bank, tax or advance book: opening balance, entries, closing balance."""
    return respond(services().finance.cash_book(code, request.args.to_dict(),
                                                scope_for(current_actor(), code)))


@blp.route("/cash-entries/<entry_id>/reverse", methods=["POST"])
@requires(*TREASURER)
@blp.arguments(schemas.StepReason, error_status_code=400)
@blp.response(201, schemas.CashEntry)
@blp.alt_response(409, schema=ErrorSchema, description="Already reversed, or month closed.")
def reverse_entry(data: dict, entry_id: str):
    """Correct an entry: the reversal points at the original, which never changes."""
    actor = current_actor()
    return respond(services().finance.reverse_entry(entry_id, json_body(), scope_for(actor),
                                                    actor.as_dict()), 201)


@blp.route("/villages/<code>/periods/<period>/close", methods=["POST"])
@requires(*TREASURER)
@blp.response(200, schemas.ClosedPeriod)
@blp.alt_response(409, schema=ErrorSchema, description="Closed already, not ended, or out of "
                                                       "order.")
def close_period(code: str, period: str):
    """Close a month (YYYY-MM): it takes no more postings."""
    actor = current_actor()
    return respond(services().finance.close_period(code, period, scope_for(actor, code),
                                                   actor.as_dict()))


# -- payment requests ------------------------------------------------------------------------

@blp.route("/villages/<code>/payment-requests", methods=["POST"])
@requires(*DRAFTERS)
@blp.arguments(schemas.PaymentRequestCreate, error_status_code=400)
@blp.response(201, schemas.PaymentRequest)
def file_payment_request(data: dict, code: str):
    """File an SPP: direct (LS) or an advance (UM), with the taxes to withhold."""
    actor = current_actor()
    return respond(services().finance.file_payment_request(
        code, json_body(), scope_for(actor, code), actor.as_dict()), 201)


@blp.route("/villages/<code>/payment-requests", methods=["GET"])
@requires(*READERS)
@blp.arguments(schemas.PaymentRequestQuery, location="query", error_status_code=400)
@blp.response(200, schemas.PaymentRequestPage)
def list_payment_requests(query: dict, code: str):
    return respond(services().finance.list_payment_requests(
        code, request.args.to_dict(), scope_for(current_actor(), code)))


@blp.route("/payment-requests/<request_id>", methods=["GET"])
@requires(*READERS)
@blp.response(200, schemas.PaymentRequest)
@blp.alt_response(404, schema=ErrorSchema)
def get_payment_request(request_id: str):
    return respond(services().finance.get_payment_request(request_id,
                                                          scope_for(current_actor())))


@blp.route("/payment-requests/<request_id>/evidence", methods=["POST"])
@requires(*DRAFTERS, roles.TREASURER)
@blp.arguments(FileForm, location="files", error_status_code=400)
@blp.response(201, schemas.PaymentRequest)
@blp.alt_response(400, schema=ErrorSchema, description="Not a PDF, JPEG or PNG, or too large.")
def add_evidence(form: dict, request_id: str):
    """A receipt or photo (multipart `file`: PDF, JPEG or PNG up to 5 MB)."""
    actor = current_actor()
    scope = scope_for(actor)
    finance = services().finance
    target = finance.evidence_key(request_id, scope, actor.as_dict())
    data, filename = _file(MAX_EVIDENCE_BYTES)
    # Refuse early; the service checks the stored bytes again.
    content_type = sniff_document(data[:SNIFF_BYTES], len(data), EVIDENCE_TYPES,
                                  MAX_EVIDENCE_BYTES)
    documents.store().put_bytes(target["key"], data, content_type)
    return respond(finance.record_evidence(request_id, {"key": target["key"],
                                                        "filename": filename},
                                           scope, actor.as_dict()), 201)


@blp.route("/payment-requests/<request_id>/evidence/<evidence_id>", methods=["GET"])
@requires(*READERS)
@blp.response(200, description="The receipt or photo, as uploaded.",
              content_type="application/octet-stream")
@blp.alt_response(404, schema=ErrorSchema, description="No such evidence on this request.")
def download_evidence(request_id: str, evidence_id: str):
    """A receipt or photo of a payment request, for whoever may read the village's books
    (the inspectorate's check, the secretary's verification)."""
    actor = current_actor()
    found = services().finance.open_evidence(request_id, evidence_id, scope_for(actor),
                                             actor.as_dict())
    return documents.download(found)


def _step(step: str, request_id: str, body: dict | None = None):
    actor = current_actor()
    return respond(services().finance.payment_request_step(
        request_id, step, body or {}, scope_for(actor), actor.as_dict()))


@blp.route("/payment-requests/<request_id>/verify", methods=["POST"])
@requires(roles.SECRETARY)
@blp.response(200, schemas.PaymentRequest)
@blp.alt_response(422, schema=ErrorSchema, description="More than the line has left.")
def verify_payment_request(request_id: str):
    """The secretary checks completeness, arithmetic and the line's remaining budget."""
    return _step("verify", request_id)


@blp.route("/payment-requests/<request_id>/approve", methods=["POST"])
@requires(roles.HEAD)
@blp.response(200, schemas.PaymentRequest)
@blp.alt_response(422, schema=ErrorSchema, description="More than the line has left.")
def approve_payment_request(request_id: str):
    return _step("approve", request_id)


@blp.route("/payment-requests/<request_id>/pay", methods=["POST"])
@requires(*TREASURER)
@blp.arguments(schemas.Pay, error_status_code=400)
@blp.response(200, schemas.PaymentRequest)
@blp.alt_response(409, schema=ErrorSchema, description="Not approved, or the month is closed.")
def pay_payment_request(data: dict, request_id: str):
    """Pay: the gross leaves the cash book, the tax withheld comes in as PFK."""
    return _step("pay", request_id, json_body())


@blp.route("/payment-requests/<request_id>/reject", methods=["POST"])
@requires(roles.SECRETARY, roles.HEAD)
@blp.arguments(schemas.StepReason, error_status_code=400)
@blp.response(200, schemas.PaymentRequest)
def reject_payment_request(data: dict, request_id: str):
    return _step("reject", request_id, json_body())


@blp.route("/payment-requests/<request_id>/settle", methods=["POST"])
@requires(*TREASURER)
@blp.arguments(schemas.Settle, error_status_code=400)
@blp.response(200, schemas.PaymentRequest)
def settle_payment_request(data: dict, request_id: str):
    """Account for an advance (UM): what was not spent comes back to the cash book."""
    return _step("settle", request_id, json_body())


# -- reports ---------------------------------------------------------------------------------

def _report(code: str, semester: bool):
    query = request.args.to_dict()
    scope = scope_for(current_actor(), code)
    if query.get("format", "json") != "json":
        return _download(services().finance.realisation_file(code, query, scope, semester))
    return respond(services().finance.realisation(code, query, scope, semester))


@blp.route("/villages/<code>/reports/realisation", methods=["GET"])
@requires(*READERS)
@blp.arguments(schemas.RealisationQuery, location="query", error_status_code=400)
@blp.response(200, schemas.Realisation)
def realisation_report(query: dict, code: str):
    """Budget against realisation by account, activity or source; `format=csv|xlsx|pdf`
    downloads it."""
    return _report(code, semester=False)


@blp.route("/villages/<code>/reports/semester", methods=["GET"])
@requires(*READERS)
@blp.arguments(schemas.RealisationQuery, location="query", error_status_code=400)
@blp.response(200, schemas.Realisation)
def semester_report(query: dict, code: str):
    """Laporan Realisasi Pelaksanaan APB Desa semester I (to 30 June), same formats."""
    return _report(code, semester=True)


@blp.route("/public/villages/<code>/apbdes/<year>", methods=["GET"])
@public
@blp.response(200, schemas.PublicSummary)
@blp.alt_response(404, schema=ErrorSchema, description="No approved budget.")
def public_apbdes(code: str, year: str):
    """For every resident, no login: income by source, spending by bidang, financing and the
    realisation so far, of an approved budget."""
    return respond(services().finance.public_summary(code, _year(year)))


@blp.route("/regency/finance/<year>", methods=["GET"])
@requires(roles.REGENCY_ADMIN)
@blp.arguments(schemas.RegencyQuery, location="query", error_status_code=400)
@blp.response(200, schemas.RegencyRow(many=True))
def regency_finance(query: dict, year: str):
    """Per village: Dana Desa budgeted, received, spent, realised percent; `sort`, `order`."""
    return respond(services().finance.regency_view(_year(year), request.args.to_dict()))
