"""The registry nameko service: RPC entrypoints only, each a call into app.py."""
from __future__ import annotations

import sqlalchemy as sa
from nameko.rpc import rpc

from services.common.db import Database
from services.common.logs import RequestContext
from services.registry import app


class RegistryService:
    """Villages, residents, family cards, life events, staff accounts and resident PINs."""

    name = "registry"

    db = Database("registry")
    request_id = RequestContext()
    outbox = app.make_outbox()

    @rpc
    def ping(self) -> dict:
        self.db.execute(sa.text("SELECT 1"))
        return {"service": self.name, "database": "ok"}

    # -- villages ---------------------------------------------------------------------------
    @rpc
    def list_villages(self, district_code: str | None = None, page: int = 1,
                      per_page: int = 50) -> dict:
        return app.list_villages(self.db, district_code, page, per_page)

    @rpc
    def get_village(self, code: str) -> dict:
        return app.get_village(self.db, code)

    @rpc
    def update_village(self, code: str, changes: dict, actor: dict | None) -> dict:
        return app.update_village(self.db, self.outbox, code, changes, actor)

    # -- residents --------------------------------------------------------------------------
    @rpc
    def register_resident(self, village_code: str, data: dict, actor: dict | None) -> dict:
        return app.register_resident(self.db, self.outbox, village_code, data, actor)

    @rpc
    def get_resident(self, nik: str, scope: str | None, actor: dict | None = None) -> dict:
        return app.get_resident(self.db, nik, scope, actor, self.request_id)

    @rpc
    def update_resident(self, nik: str, changes: dict, scope: str | None,
                        actor: dict | None) -> dict:
        return app.update_resident(self.db, self.outbox, nik, changes, scope, actor)

    @rpc
    def search_residents(self, village_code: str | None, q: str | None = None,
                         dusun: str | None = None, rw: str | None = None,
                         rt: str | None = None, status: str | None = None, page: int = 1,
                         per_page: int = 20, actor: dict | None = None) -> dict:
        return app.search_residents(self.db, village_code, q=q, dusun=dusun, rw=rw, rt=rt,
                                    status=status, page=page, per_page=per_page, actor=actor,
                                    request_id=self.request_id)

    @rpc
    def resident_history(self, nik: str, scope: str | None, actor: dict | None = None) -> list:
        return app.resident_history(self.db, nik, scope, actor, self.request_id)

    @rpc
    def resident_reads(self, nik: str, scope: str | None, page: int = 1,
                       per_page: int = 20) -> dict:
        return app.resident_reads(self.db, nik, scope, page, per_page)

    @rpc
    def record_life_event(self, nik: str, event: dict, scope: str | None,
                          actor: dict | None) -> dict:
        return app.record_life_event(self.db, self.outbox, nik, event, scope, actor)

    # -- families ---------------------------------------------------------------------------
    @rpc
    def register_family(self, village_code: str, data: dict, actor: dict | None) -> dict:
        return app.register_family(self.db, self.outbox, village_code, data, actor)

    @rpc
    def get_family(self, number: str, scope: str | None, actor: dict | None = None) -> dict:
        return app.get_family(self.db, number, scope, actor, self.request_id)

    @rpc
    def add_family_member(self, number: str, member: dict, scope: str | None,
                          actor: dict | None) -> dict:
        return app.add_family_member(self.db, self.outbox, number, member, scope, actor)

    @rpc
    def end_family_membership(self, number: str, nik: str, valid_to: str,
                              scope: str | None, actor: dict | None) -> dict:
        return app.end_family_membership(self.db, self.outbox, number, nik, valid_to, scope,
                                         actor)

    # -- accounts and login -----------------------------------------------------------------
    @rpc
    def create_account(self, role: str, username: str, password: str,
                       village_code: str | None, actor: dict | None = None) -> dict:
        return app.create_account(self.db, role, username, password, village_code, actor)

    @rpc
    def authenticate_password(self, username: str, password: str) -> dict:
        return app.authenticate_password(self.db, username, password)

    @rpc
    def authenticate_pin(self, nik: str, pin: str) -> dict:
        return app.authenticate_pin(self.db, nik, pin)

    @rpc
    def issue_pin(self, nik: str, scope: str | None, actor: dict | None) -> dict:
        return app.issue_pin(self.db, nik, scope, actor)

    # -- bulk import ------------------------------------------------------------------------
    @rpc
    def import_residents(self, village_code: str, csv_text: str, dry_run: bool,
                         actor: dict | None) -> dict:
        return app.import_residents(self.db, self.outbox, village_code, csv_text, dry_run,
                                    actor)


SERVICE = RegistryService
