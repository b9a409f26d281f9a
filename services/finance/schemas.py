"""marshmallow schemas: the finance service's RPC and HTTP contract (the gateway imports these).

Inputs are loaded here and again in the service; outputs are produced with `dump`, so the
wire shape is written once. Money is a strict integer (a float or "100" is refused).
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.pagination import PageArgs, page_schema
from services.finance.domain import books, budgets, payments, reports
from services.finance.domain.values import MAX_AMOUNT

YEAR = validate.Range(min=2000, max=2100)
ACCOUNT_CODE = validate.Regexp(r"^\d(\.\d{1,2}){0,3}$", error="Looks like 5.2.1 or 5.2.1.01.")
ACTIVITY_CODE = validate.Regexp(r"^\d{2}\.\d{2}\.\d{2}$", error="Looks like 02.03.01.")
SOURCE = validate.Regexp(r"^[A-Z]{3}$", error="A source code such as DDS.")
# NTPN: the 16-character proof that a tax deposit reached the state treasury.
NTPN = validate.Regexp(r"^[0-9A-Z]{16}$", error="An NTPN is 16 letters or digits.")


def money(required: bool = True, **kwargs) -> fields.Integer:
    """Whole rupiah, positive, strictly an integer."""
    return fields.Integer(required=required, strict=True,
                          validate=validate.Range(min=1, max=MAX_AMOUNT), **kwargs)


def text(max_length: int, required: bool = True, **kwargs) -> fields.String:
    if not required:
        kwargs.setdefault("load_default", None)
        kwargs.setdefault("allow_none", True)
    return fields.String(required=required, validate=validate.Length(min=1, max=max_length),
                         **kwargs)


# -- inputs ----------------------------------------------------------------------------------

class BudgetCreate(Schema):
    year = fields.Integer(required=True, strict=True, validate=YEAR)


class LineCreate(Schema):
    account_code = fields.String(required=True, validate=ACCOUNT_CODE)
    activity_code = fields.String(load_default=None, allow_none=True, validate=ACTIVITY_CODE)
    source = fields.String(required=True, validate=SOURCE)
    amount = money()
    description = text(300, required=False)


class LineChange(Schema):
    """PATCH: the fields given replace the line's; the result is checked as a whole."""
    account_code = fields.String(validate=ACCOUNT_CODE)
    activity_code = fields.String(allow_none=True, validate=ACTIVITY_CODE)
    source = fields.String(validate=SOURCE)
    amount = money(required=False)
    description = fields.String(allow_none=True, validate=validate.Length(max=300))

    @validates_schema
    def not_empty(self, data: dict, **kwargs) -> None:
        if not data:
            raise ValidationError("Nothing to change.", field_name="_schema")


class ReceiptCreate(Schema):
    """A receipt against an income or financing-receipt line (a Dana Desa tranche, ADD...)."""
    date = fields.Date(required=True)
    line_id = fields.UUID(required=True)
    amount = money()
    description = text(500)
    method = fields.String(required=True, validate=validate.OneOf(books.METHODS))


class TaxInput(Schema):
    code = fields.String(required=True, validate=validate.Length(min=2, max=10))
    amount = money()


class PaymentRequestCreate(Schema):
    line_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(payments.KINDS))
    amount = money()
    payee = text(200)
    description = text(500)
    taxes = fields.List(fields.Nested(TaxInput), load_default=list,
                        validate=validate.Length(max=5))


class StepReason(Schema):
    """Why: a rejection or a reversal."""
    reason = text(500)


class Pay(Schema):
    date = fields.Date(required=True)
    method = fields.String(required=True, validate=validate.OneOf(books.METHODS))


class Settle(Schema):
    actual_amount = fields.Integer(required=True, strict=True,
                                   validate=validate.Range(min=0, max=MAX_AMOUNT))


class TaxDepositCreate(Schema):
    date = fields.Date(required=True)
    tax_code = fields.String(required=True, validate=validate.Length(min=2, max=10))
    amount = money()
    reference = fields.String(required=True, validate=NTPN)


class PaymentRequestQuery(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(payments.STATUSES))
    year = fields.Integer(load_default=None, validate=YEAR)


class CashBookQuery(Schema):
    book = fields.String(load_default=books.GENERAL, validate=validate.OneOf(books.BOOKS))
    date_from = fields.Date(load_default=None, data_key="from")
    date_to = fields.Date(load_default=None, data_key="to")
    year = fields.Integer(load_default=None, validate=YEAR)

    @validates_schema
    def ordered(self, data: dict, **kwargs) -> None:
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("Must not be after 'to'.", field_name="from")


class RealisationQuery(Schema):
    year = fields.Integer(required=True, validate=YEAR)
    by = fields.String(load_default="account", validate=validate.OneOf(reports.BY))
    format = fields.String(load_default="json",
                           validate=validate.OneOf(("json", "csv", "xlsx", "pdf")))


class ReferenceQuery(Schema):
    regency = fields.String(load_default="36.04", validate=validate.Regexp(r"^\d{2}\.\d{2}$"),
                            metadata={"description": "Regency code for its level-4 accounts"})


class RegencyQuery(Schema):
    sort = fields.String(load_default="village_code", validate=validate.OneOf(
        ("village_code", "village_name", "dana_desa_budget", "dana_desa_received",
         "realised_percent")))
    order = fields.String(load_default="asc", validate=validate.OneOf(("asc", "desc")))
    district = fields.String(validate=validate.Regexp(r"^\d{2}\.\d{2}\.\d{2}$"),
                             metadata={"description": "Only this district (kecamatan), "
                                                      "e.g. 36.04.05"})
    status = fields.String(metadata={"description": "Only villages whose budget has this "
                                                    "status; `none` lists those without an "
                                                    "approved budget"})


# -- outputs ---------------------------------------------------------------------------------

class Totals(Schema):
    income = fields.Integer()
    spending = fields.Integer()
    financing_receipts = fields.Integer()
    financing_expenditures = fields.Integer()
    surplus_deficit = fields.Integer()
    net_financing = fields.Integer()
    silpa = fields.Integer()


class Line(Schema):
    id = fields.String()
    account_code = fields.String()
    account_name = fields.String()
    activity_code = fields.String(allow_none=True)
    source = fields.String()
    amount = fields.Integer()
    approved_amount = fields.Integer()
    description = fields.String(allow_none=True)
    realised = fields.Integer()
    approved_unpaid = fields.Integer()
    remaining = fields.Integer()


class Budget(Schema):
    id = fields.String()
    village_code = fields.String()
    year = fields.Integer()
    status = fields.String(validate=validate.OneOf(budgets.STATUSES))
    version = fields.Integer()
    lines = fields.List(fields.Nested(Line))
    totals = fields.Nested(Totals)
    updated_at = fields.DateTime()


class BudgetVersion(Schema):
    version = fields.Integer()
    status = fields.String()
    lines = fields.List(fields.Dict())
    totals = fields.Nested(Totals)
    approved_at = fields.DateTime()
    approved_by = fields.Dict(allow_none=True)


class BudgetImportReport(Schema):
    rows = fields.Integer()
    imported = fields.Integer()
    errors = fields.List(fields.Dict())


class Evidence(Schema):
    id = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_at = fields.DateTime()


class Step(Schema):
    step = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor = fields.Dict(allow_none=True)
    reason = fields.String(allow_none=True)
    at = fields.DateTime()


class PaymentRequest(Schema):
    id = fields.String()
    village_code = fields.String()
    year = fields.Integer()
    number = fields.String()
    line_id = fields.String()
    kind = fields.String()
    status = fields.String()
    amount = fields.Integer()
    net_amount = fields.Integer()
    payee = fields.String()
    description = fields.String()
    taxes = fields.List(fields.Nested(TaxInput))
    paid_on = fields.Date(allow_none=True)
    method = fields.String(allow_none=True)
    settled_on = fields.Date(allow_none=True)
    actual_amount = fields.Integer(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    overdue = fields.Boolean()
    evidence = fields.List(fields.Nested(Evidence))
    steps = fields.List(fields.Nested(Step))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


PaymentRequestPage = page_schema(PaymentRequest, "PaymentRequestPage")


class CashEntry(Schema):
    id = fields.String()
    village_code = fields.String()
    number = fields.Integer()
    date = fields.Date(attribute="entry_date")
    kind = fields.String()
    amount = fields.Integer()
    account_code = fields.String()
    line_id = fields.String(allow_none=True)
    method = fields.String()
    description = fields.String()
    tax_code = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    payment_request_id = fields.String(allow_none=True)
    reverses_id = fields.String(allow_none=True)
    posted_at = fields.DateTime()


class BookEntry(Schema):
    id = fields.String()
    number = fields.Integer()
    date = fields.Date()
    description = fields.String()
    receipt = fields.Integer()
    payment = fields.Integer()
    balance = fields.Integer()


class CashBook(Schema):
    book = fields.String()
    opening_balance = fields.Integer()
    entries = fields.List(fields.Nested(BookEntry))
    closing_balance = fields.Integer()
    overdue_advances = fields.List(fields.String())


class ClosedPeriod(Schema):
    period = fields.String()
    receipts = fields.Integer()
    payments = fields.Integer()
    closing_balance = fields.Integer()
    closed_at = fields.DateTime()


class ReportRow(Schema):
    code = fields.String()
    name = fields.String()
    budget = fields.Integer()
    realised = fields.Integer()
    remaining = fields.Integer()
    percent = fields.Float()


class Realisation(Schema):
    village_code = fields.String()
    year = fields.Integer()
    by = fields.String()
    period_end = fields.Date(allow_none=True)
    rows = fields.List(fields.Nested(ReportRow))
    totals = fields.Dict()
    cash = fields.Dict()


class PublicSummary(Schema):
    village_code = fields.String()
    year = fields.Integer()
    status = fields.String()
    version = fields.Integer()
    income_by_source = fields.List(fields.Nested(ReportRow))
    spending_by_bidang = fields.List(fields.Nested(ReportRow))
    financing = fields.Dict()
    totals = fields.Dict()


class RegencyRow(Schema):
    village_code = fields.String()
    village_name = fields.String(allow_none=True)
    district_code = fields.String(allow_none=True)
    district_name = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "The budget's status, or `none`"})
    dana_desa_budget = fields.Integer()
    dana_desa_received = fields.Integer()
    dana_desa_spent = fields.Integer()
    realised_percent = fields.Float()


class Reference(Schema):
    accounts = fields.List(fields.Dict())
    activities = fields.List(fields.Dict())
    sources = fields.List(fields.Dict())
    taxes = fields.List(fields.Dict())
