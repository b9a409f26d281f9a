"""The registry nameko service: entrypoints only, each one call into app/ inside a transaction."""
from __future__ import annotations

from nameko.timer import timer

from services.common.config import get_settings
from services.common.db import Database
from services.common.entrypoints import rpc
from services.common.idempotency import runs_every_time
from services.common.logs import RequestContext
from services.common.service import OutboxProvider, ServiceBase, transaction
from services.registry import lockout
from services.registry.app import (
    accounts,
    families,
    imports,
    life_events,
    overview,
    reads,
    residents,
    villages,
)


class RegistryService(ServiceBase):
    """Villages, residents, family cards, life events, staff accounts and resident PINs."""

    name = "registry"

    db = Database("registry")
    outbox = OutboxProvider()
    request_id = RequestContext()

    # -- villages ---------------------------------------------------------------------------
    @rpc
    @transaction
    def list_villages(self, district_code: str | None = None, page: int = 1,
                      per_page: int = 50) -> dict:
        return villages.list_villages(self.db, district_code, page, per_page)

    @rpc
    @transaction
    def get_village(self, code: str) -> dict:
        return villages.get_village(self.db, code)

    @rpc
    @transaction
    def update_village(self, code: str, changes: dict, actor: dict | None) -> dict:
        return villages.update_village(self.db, self.outbox, code, changes, actor)

    # -- residents --------------------------------------------------------------------------
    @rpc
    @transaction
    def register_resident(self, village_code: str, data: dict, actor: dict | None) -> dict:
        return residents.register_resident(self.db, self.outbox, village_code, data, actor)

    @rpc
    @transaction
    def get_resident(self, nik: str, scope: str | None, actor: dict | None = None) -> dict:
        return residents.get_resident(self.db, nik, scope, actor, self.request_id)

    @rpc
    @transaction
    def get_residents(self, items: list) -> list:
        """Several callers' `get_resident` at once (the gateway's collapsed reads): an answer
        per item, its record or its own error (services/common/batch.py)."""
        return residents.get_residents(self.db, items)

    @rpc
    @transaction
    def update_resident(self, nik: str, changes: dict, scope: str | None,
                        actor: dict | None, if_match: str | None = None) -> dict:
        return residents.update_resident(self.db, self.outbox, nik, changes, scope, actor,
                                         if_match)

    @rpc
    @transaction
    def search_residents(self, village_code: str | None, q: str | None = None,
                         dusun: str | None = None, rw: str | None = None,
                         rt: str | None = None, status: str | None = None, page: int = 1,
                         per_page: int = 20, actor: dict | None = None) -> dict:
        return residents.search_residents(self.db, village_code, q=q, dusun=dusun, rw=rw, rt=rt,
                                          status=status, page=page, per_page=per_page,
                                          actor=actor, request_id=self.request_id)

    @rpc
    @transaction
    def resident_history(self, nik: str, scope: str | None, actor: dict | None = None) -> list:
        return residents.resident_history(self.db, nik, scope, actor, self.request_id)

    @rpc
    @transaction
    def resident_reads(self, nik: str, scope: str | None, page: int = 1,
                       per_page: int = 20) -> dict:
        return reads.resident_reads(self.db, nik, scope, page, per_page)

    @rpc
    @transaction
    def record_life_event(self, nik: str, event: dict, scope: str | None,
                          actor: dict | None) -> dict:
        return life_events.record_life_event(self.db, self.outbox, nik, event, scope, actor)

    # -- families ---------------------------------------------------------------------------
    @rpc
    @transaction
    def register_family(self, village_code: str, data: dict, actor: dict | None) -> dict:
        return families.register_family(self.db, self.outbox, village_code, data, actor)

    @rpc
    @transaction
    def get_family(self, number: str, scope: str | None, actor: dict | None = None) -> dict:
        return families.get_family(self.db, number, scope, actor, self.request_id)

    @rpc
    @transaction
    def add_family_member(self, number: str, member: dict, scope: str | None,
                          actor: dict | None) -> dict:
        return families.add_family_member(self.db, self.outbox, number, member, scope, actor)

    @rpc
    @transaction
    def end_family_membership(self, number: str, nik: str, valid_to: str,
                              scope: str | None, actor: dict | None) -> dict:
        return families.end_family_membership(self.db, self.outbox, number, nik, valid_to,
                                              scope, actor)

    # -- accounts and login -----------------------------------------------------------------
    @rpc
    @transaction
    @runs_every_time
    def create_account(self, role: str, username: str, password: str,
                       village_code: str | None, actor: dict | None = None,
                       district_code: str | None = None) -> dict:
        return accounts.create_account(self.db, role, username, password, village_code, actor,
                                       district_code)

    @rpc
    @transaction
    def list_accounts(self, actor: dict, village_code: str | None = None,
                      role: str | None = None, active: bool | None = None,
                      q: str | None = None, page: int = 1, per_page: int = 20) -> dict:
        return accounts.list_accounts(self.db, actor, village_code=village_code, role=role,
                                      active=active, q=q, page=page, per_page=per_page)

    @rpc
    @transaction
    def get_account(self, username: str, actor: dict) -> dict:
        return accounts.get_account(self.db, username, actor)

    @rpc
    @transaction
    @runs_every_time
    def create_managed_account(self, data: dict, actor: dict) -> dict:
        return accounts.create_managed_account(self.db, data, actor)

    @rpc
    @transaction
    def set_account_active(self, username: str, active: bool, actor: dict) -> dict:
        return accounts.set_active(self.db, username, active, actor)

    @rpc
    @transaction
    @runs_every_time
    def reset_account_password(self, username: str, actor: dict) -> dict:
        return accounts.reset_password(self.db, username, actor)

    @rpc
    @transaction
    @runs_every_time
    def change_password(self, username: str, current_password: str, new_password: str,
                        source: str | None = None) -> None:
        accounts.change_password(self.db, username, current_password, new_password, source,
                                 lockout.Policy.from_settings(get_settings()))

    @rpc
    @transaction
    @runs_every_time
    def authenticate_password(self, username: str, password: str,
                              source: str | None = None) -> dict:
        return accounts.authenticate_password(self.db, username, password, source,
                                              lockout.Policy.from_settings(get_settings()))

    @rpc
    @transaction
    @runs_every_time
    def authenticate_pin(self, nik: str, pin: str, source: str | None = None) -> dict:
        return accounts.authenticate_pin(self.db, nik, pin, source,
                                         lockout.Policy.from_settings(get_settings()))

    @timer(interval=3600)
    @transaction
    def forget_old_login_failures(self) -> None:
        accounts.forget_old_failures(self.db)

    @rpc
    @transaction
    @runs_every_time
    def issue_pin(self, nik: str, scope: str | None, actor: dict | None) -> dict:
        return accounts.issue_pin(self.db, nik, scope, actor)

    # -- bulk import (a background job) ------------------------------------------------------
    @rpc
    @transaction
    def start_import(self, village_code: str, csv_text: str, dry_run: bool,
                     actor: dict | None) -> dict:
        return imports.start_import(self.db, village_code, csv_text, dry_run, actor)

    @rpc
    @transaction
    def get_import(self, job_id: str, scope: str | None) -> dict:
        return imports.get_import(self.db, job_id, scope)

    @timer(interval=1)
    def run_import_jobs(self) -> None:
        """Run waiting import jobs one after another (commits on its own: see imports.py)."""
        while imports.run_next_job(self.db, self.outbox):
            pass

    # -- portal views -----------------------------------------------------------------------
    @rpc
    @transaction
    def population_statistics(self, village_code: str) -> dict:
        """Aggregates only (no personal data): public on the village website."""
        return overview.population_statistics(self.db, village_code)

    @rpc
    @transaction
    def list_families(self, village_code: str, q: str | None = None, page: int = 1,
                      per_page: int = 20, actor: dict | None = None) -> dict:
        return overview.list_families(self.db, village_code, q, page, per_page, actor,
                                      self.request_id)


SERVICE = RegistryService
