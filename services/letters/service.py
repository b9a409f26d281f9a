"""nameko entrypoints of the letters service (thin: the work is in app.py)."""
from __future__ import annotations

import base64
import logging
from datetime import timedelta

import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer

from services.common.config import get_settings
from services.common.db import Database
from services.common.errors import Forbidden, NotFound
from services.common.inbox import consumes
from services.common.logs import RequestContext
from services.common.objectstore import ObjectStore
from services.common.outbox import Outbox
from services.letters import app, models, register, tokens

log = logging.getLogger(__name__)

OUTBOX = Outbox("letters", models.outbox)
CONFIGURE_ROLES = ("officer", "head", "regency_admin")
ISSUE_RETRY_AFTER = timedelta(seconds=20)


class SigningKey(DependencyProvider):
    """The Ed25519 key that signs verification tokens. A missing key stops the service at
    start-up rather than at the first signing."""

    def setup(self) -> None:
        self.key = tokens.load_signing_key(get_settings().letter_signing_key)

    def get_dependency(self, worker_ctx):
        return self.key


class LettersService:
    name = "letters"

    db = Database("letters")
    request_id = RequestContext()
    store = ObjectStore()
    signing_key = SigningKey()

    @rpc
    def ping(self) -> dict:
        self.db.execute(sa.text("SELECT 1"))
        return {"service": self.name, "database": "ok"}

    # -- letter types ------------------------------------------------------------------------
    @rpc
    def list_letter_types(self, village_code: str, scope: str | None = None) -> list[dict]:
        return app.list_letter_types(self.db, village_code, scope)

    @rpc
    def configure_letter_type(self, village_code: str, type_code: str, changes: dict,
                              scope: str | None, actor: dict) -> dict:
        if (actor or {}).get("role") not in CONFIGURE_ROLES:
            raise Forbidden("only the village office may configure letter types")
        if scope is not None and scope != village_code:
            raise NotFound("village not found")
        result = app.configure_letter_type(self.db, OUTBOX, village_code, type_code, changes,
                                           actor)
        self.db.commit()
        return result

    # -- requests and workflow ---------------------------------------------------------------
    @rpc
    def request_letter(self, data: dict, scope: str | None, actor: dict) -> dict:
        result = app.request_letter(self.db, OUTBOX, data, scope, actor)
        self.db.commit()
        return result

    @rpc
    def get_letter(self, letter_id: str, scope: str | None, actor: dict) -> dict:
        return app.get_letter(self.db, letter_id, scope, actor)

    @rpc
    def letter_transitions(self, letter_id: str, scope: str | None, actor: dict) -> list[dict]:
        return app.transitions_of(self.db, letter_id, scope, actor)

    @rpc
    def list_village_letters(self, village_code: str, status: str | None = None, page: int = 1,
                             per_page: int = 20, scope: str | None = None) -> dict:
        return app.list_village_letters(self.db, village_code, status, page, per_page, scope)

    @rpc
    def list_resident_letters(self, nik: str, scope: str | None, actor: dict, page: int = 1,
                              per_page: int = 20) -> dict:
        return app.list_resident_letters(self.db, nik, scope, actor, page, per_page)

    @rpc
    def check_letter(self, letter_id: str, scope: str | None, actor: dict) -> dict:
        return self._change(letter_id, "check", scope, actor)

    @rpc
    def reject_letter(self, letter_id: str, reason: str, scope: str | None, actor: dict) -> dict:
        return self._change(letter_id, "reject", scope, actor, reason)

    @rpc
    def cancel_letter(self, letter_id: str, reason: str, scope: str | None, actor: dict) -> dict:
        return self._change(letter_id, "cancel", scope, actor, reason)

    def _change(self, letter_id: str, step: str, scope: str | None, actor: dict,
                reason: str | None = None) -> dict:
        result = app.change_status(self.db, OUTBOX, letter_id, step, scope, actor, reason)
        self.db.commit()
        return result

    @rpc
    def sign_letter(self, letter_id: str, scope: str | None, actor: dict) -> dict:
        """Number and sign in one short transaction, then render and store the PDF; if that
        second step fails the letter stays signed and the timer below finishes it."""
        signed = app.sign_letter(self.db, OUTBOX, letter_id, scope, actor)
        self.db.commit()
        return self._issue(letter_id) or signed

    def _issue(self, letter_id: str) -> dict | None:
        try:
            issued = app.issue_letter(self.db, OUTBOX, self.store, self.signing_key, letter_id)
            self.db.commit()
            return issued
        except Exception:  # noqa: BLE001 - retried by issue_pending; the signing stands
            self.db.rollback()
            log.exception("issuing a signed letter failed; will retry",
                          extra={"letter_id": letter_id})
            return None

    @timer(interval=15)
    def issue_pending(self) -> None:
        for letter_id in app.signed_not_issued(self.db, ISSUE_RETRY_AFTER):
            self._issue(letter_id)

    # -- documents ---------------------------------------------------------------------------
    @rpc
    def open_pdf(self, letter_id: str, scope: str | None, actor: dict) -> dict:
        result = app.open_pdf(self.db, OUTBOX, letter_id, scope, actor)
        self.db.commit()
        return result

    @rpc
    def attachment_key(self, letter_id: str, scope: str | None, actor: dict) -> dict:
        return app.attachment_key(self.db, letter_id, scope, actor)

    @rpc
    def record_attachment(self, letter_id: str, attachment: dict, scope: str | None,
                          actor: dict) -> dict:
        result = app.record_attachment(self.db, OUTBOX, self.store, letter_id, attachment, scope,
                                       actor)
        self.db.commit()
        return result

    # -- verification (public) ---------------------------------------------------------------
    @rpc
    def verify_token(self, token: str) -> dict:
        return app.verify_token(self.db, self.signing_key.public_key(), token)

    @rpc
    def verify_pdf(self, sha256: str) -> dict:
        return app.verify_pdf(self.db, sha256)

    # -- office views ------------------------------------------------------------------------
    @rpc
    def letter_register(self, village_code: str, date_from: str, date_to: str,
                        file_format: str, scope: str | None) -> dict:
        """Buku Agenda as a file: {filename, content_type, content_base64}."""
        rows = app.letter_register(self.db, village_code, date_from, date_to, scope)
        name = f"buku-agenda-{village_code}-{date_from}-{date_to}"
        if file_format == "xlsx":
            data = register.register_xlsx(
                rows, f"Buku Agenda Surat Keluar {village_code} ({date_from} s.d. {date_to})")
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            data, content_type, file_format = register.register_csv(rows), "text/csv", "csv"
        return {"filename": f"{name}.{file_format}", "content_type": content_type,
                "rows": len(rows), "content_base64": base64.b64encode(data).decode()}

    @rpc
    def letter_counts(self, year: int, scope: str | None, village_code: str | None = None
                      ) -> list[dict]:
        return app.letter_counts(self.db, year, scope, village_code)

    # -- read models from registry events ----------------------------------------------------
    @consumes("registry", "village.updated")
    def on_village_updated(self, envelope: dict) -> None:
        app.apply_village(self.db, envelope["payload"])

    @consumes("registry", "resident.registered")
    def on_resident_registered(self, envelope: dict) -> None:
        app.apply_resident(self.db, envelope["payload"])

    @consumes("registry", "resident.updated")
    def on_resident_updated(self, envelope: dict) -> None:
        app.apply_resident(self.db, envelope["payload"])

    @consumes("registry", "resident.died")
    def on_resident_died(self, envelope: dict) -> None:
        app.apply_resident(self.db, envelope["payload"])

    @consumes("registry", "resident.moved_out")
    def on_resident_moved_out(self, envelope: dict) -> None:
        app.apply_resident(self.db, envelope["payload"])

    @consumes("registry", "resident.moved_in")
    def on_resident_moved_in(self, envelope: dict) -> None:
        app.apply_resident(self.db, envelope["payload"])


SERVICE = LettersService
