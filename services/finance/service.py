"""The finance nameko service: entrypoints only, each one call into app/ inside a transaction."""
from __future__ import annotations

import base64

from services.common.db import Database
from services.common.entrypoints import rpc
from services.common.inbox import consumes
from services.common.logs import RequestContext
from services.common.objectstore import ObjectStore
from services.common.service import OutboxProvider, ServiceBase, transaction
from services.finance import exports
from services.finance.app import budgets, cash, payment_requests, reports, villages


class FinanceService(ServiceBase):
    """APBDes, payment requests (SPP), the cash books and realisation reports."""

    name = "finance"

    db = Database("finance")
    outbox = OutboxProvider()
    store = ObjectStore()
    request_id = RequestContext()

    # -- reference and budgets --------------------------------------------------------------
    @rpc
    def reference(self, regency_code: str | None = None) -> dict:
        return reports.reference_data(regency_code)

    @rpc
    @transaction
    def create_budget(self, village_code: str, data: dict, scope: str | None,
                      actor: dict) -> dict:
        return budgets.create_budget(self.db, self.outbox, village_code, data, scope, actor)

    @rpc
    @transaction
    def get_budget(self, village_code: str, year: int, scope: str | None) -> dict:
        return budgets.get_budget(self.db, village_code, year, scope)

    @rpc
    @transaction
    def add_line(self, village_code: str, year: int, data: dict, scope: str | None,
                 actor: dict) -> dict:
        return budgets.add_line(self.db, self.outbox, village_code, year, data, scope, actor)

    @rpc
    @transaction
    def change_line(self, village_code: str, year: int, line_id: str, changes: dict,
                    scope: str | None, actor: dict) -> dict:
        return budgets.change_line(self.db, self.outbox, village_code, year, line_id, changes,
                                   scope, actor)

    @rpc
    @transaction
    def remove_line(self, village_code: str, year: int, line_id: str, scope: str | None,
                    actor: dict) -> None:
        budgets.remove_line(self.db, self.outbox, village_code, year, line_id, scope, actor)

    @rpc
    @transaction
    def budget_step(self, village_code: str, year: int, step: str, scope: str | None,
                    actor: dict) -> dict:
        return budgets.step(self.db, self.outbox, village_code, year, step, scope, actor)

    @rpc
    @transaction
    def budget_versions(self, village_code: str, year: int, scope: str | None) -> list:
        return budgets.versions(self.db, village_code, year, scope)

    @rpc
    @transaction
    def import_budget(self, village_code: str, year: int, content_base64: str, filename: str,
                      scope: str | None, actor: dict) -> dict:
        return budgets.import_lines(self.db, self.outbox, village_code, year, content_base64,
                                    filename, scope, actor)

    # -- cash -------------------------------------------------------------------------------
    @rpc
    @transaction
    def record_receipt(self, village_code: str, data: dict, scope: str | None,
                       actor: dict) -> dict:
        return cash.record_receipt(self.db, self.outbox, village_code, data, scope, actor)

    @rpc
    @transaction
    def deposit_tax(self, village_code: str, data: dict, scope: str | None,
                    actor: dict) -> dict:
        return cash.deposit_tax(self.db, self.outbox, village_code, data, scope, actor)

    @rpc
    @transaction
    def reverse_entry(self, entry_id: str, data: dict, scope: str | None, actor: dict) -> dict:
        return cash.reverse(self.db, self.outbox, entry_id, data, scope, actor)

    @rpc
    @transaction
    def cash_book(self, village_code: str, query: dict, scope: str | None) -> dict:
        return cash.cash_book(self.db, village_code, query, scope)

    @rpc
    @transaction
    def close_period(self, village_code: str, period: str, scope: str | None,
                     actor: dict) -> dict:
        return cash.close_period(self.db, self.outbox, village_code, period, scope, actor)

    # -- payment requests -------------------------------------------------------------------
    @rpc
    @transaction
    def file_payment_request(self, village_code: str, data: dict, scope: str | None,
                             actor: dict) -> dict:
        return payment_requests.file_request(self.db, self.outbox, village_code, data, scope,
                                             actor)

    @rpc
    @transaction
    def get_payment_request(self, request_id: str, scope: str | None) -> dict:
        return payment_requests.get_request(self.db, request_id, scope)

    @rpc
    @transaction
    def list_payment_requests(self, village_code: str, query: dict, scope: str | None) -> dict:
        return payment_requests.list_requests(self.db, village_code, query, scope)

    @rpc
    @transaction
    def payment_request_step(self, request_id: str, step: str, data: dict, scope: str | None,
                             actor: dict) -> dict:
        return payment_requests.step(self.db, self.outbox, request_id, step, data, scope, actor)

    @rpc
    @transaction
    def evidence_key(self, request_id: str, scope: str | None, actor: dict) -> dict:
        return payment_requests.evidence_key(self.db, request_id, scope, actor)

    @rpc
    @transaction
    def open_evidence(self, request_id: str, evidence_id: str, scope: str | None,
                      actor: dict) -> dict:
        return payment_requests.open_evidence(self.db, request_id, evidence_id, scope, actor)

    @rpc
    @transaction
    def record_evidence(self, request_id: str, upload: dict, scope: str | None,
                        actor: dict) -> dict:
        return payment_requests.record_evidence(self.db, self.store, request_id, upload, scope,
                                                actor)

    # -- reports ----------------------------------------------------------------------------
    @rpc
    @transaction
    def realisation(self, village_code: str, query: dict, scope: str | None,
                    semester: bool = False) -> dict:
        return reports.realisation(self.db, village_code, query, scope, semester)

    @rpc
    @transaction
    def realisation_file(self, village_code: str, query: dict, scope: str | None,
                         semester: bool = False) -> dict:
        """The report rendered as CSV, XLSX or PDF, base64 (documents are small)."""
        report = reports.realisation(self.db, village_code, query, scope, semester)
        file_format = query.get("format") if query.get("format") in exports.RENDERERS else "csv"
        data = exports.RENDERERS[file_format](report, semester)
        kind = "semester" if semester else "realisasi"
        return {"content_base64": base64.b64encode(data).decode(),
                "content_type": exports.CONTENT_TYPES[file_format],
                "filename": f"{kind}-{village_code}-{report['year']}.{file_format}"}

    @rpc
    @transaction
    def public_summary(self, village_code: str, year: int) -> dict:
        return reports.public_summary(self.db, village_code, year)

    @rpc
    @transaction
    def regency_view(self, year: int, query: dict) -> list:
        return reports.regency_view(self.db, year, query)

    # -- read model from registry events (the inbox commits each one) ------------------------
    @consumes("registry", "village.updated")
    def on_village_updated(self, envelope: dict) -> None:
        villages.apply_village(self.db, envelope["payload"])


SERVICE = FinanceService
