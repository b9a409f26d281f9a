"""The letters nameko service: entrypoints only, each one call into app/ inside a transaction."""
from __future__ import annotations

import logging
from datetime import timedelta

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from services.common.config import get_settings
from services.common.db import Database
from services.common.entrypoints import rpc
from services.common.inbox import consumes
from services.common.logs import RequestContext
from services.common.objectstore import ObjectStore
from services.common.service import OutboxProvider, ServiceBase, transaction, unit_of_work
from services.letters import tokens
from services.letters.app import (
    attachments,
    issuing,
    letter_types,
    letters,
    numbering,
    office,
    portal,
    readmodels,
    requests,
    verification,
)

log = logging.getLogger(__name__)

ISSUE_RETRY_AFTER = timedelta(seconds=20)


class SigningKey(DependencyProvider):
    """The Ed25519 key that signs verification tokens. A missing key stops the service at
    start-up rather than at the first signing."""

    def setup(self) -> None:
        self.key = tokens.load_signing_key(get_settings().letter_signing_key)

    def get_dependency(self, worker_ctx):
        return self.key


class VerifyKeys(DependencyProvider):
    """The keyring that checks QR tokens: the signing key's public half and earlier keys'
    (DESA_LETTER_VERIFY_KEYS), by key id, so letters printed before a rotation stay valid."""

    def setup(self) -> None:
        settings = get_settings()
        self.keyring = tokens.load_keyring(tokens.load_signing_key(settings.letter_signing_key),
                                           settings.letter_verify_keys)

    def get_dependency(self, worker_ctx) -> dict:
        return self.keyring


class LettersService(ServiceBase):
    """Letter requests, their workflow, numbers, PDFs and public verification."""

    name = "letters"

    db = Database("letters")
    outbox = OutboxProvider()
    request_id = RequestContext()
    store = ObjectStore()
    signing_key = SigningKey()
    verify_keys = VerifyKeys()

    # -- letter types ------------------------------------------------------------------------
    @rpc
    @transaction
    def list_letter_types(self, village_code: str, scope: str | None = None) -> list[dict]:
        return letter_types.list_letter_types(self.db, village_code, scope)

    @rpc
    @transaction
    def configure_letter_type(self, village_code: str, type_code: str, changes: dict,
                              scope: str | None, actor: dict) -> dict:
        return letter_types.configure_letter_type(self.db, self.outbox, village_code, type_code,
                                                  changes, scope, actor)

    # -- requests and workflow ---------------------------------------------------------------
    @rpc
    @transaction
    def request_letter(self, data: dict, scope: str | None, actor: dict) -> dict:
        return requests.request_letter(self.db, self.outbox, data, scope, actor)

    @rpc
    @transaction
    def get_letter(self, letter_id: str, scope: str | None, actor: dict) -> dict:
        return letters.get_letter(self.db, letter_id, scope, actor, self.request_id)

    @rpc
    @transaction
    def letter_transitions(self, letter_id: str, scope: str | None, actor: dict) -> list[dict]:
        return letters.transitions_of(self.db, letter_id, scope, actor, self.request_id)

    @rpc
    @transaction
    def list_village_letters(self, village_code: str, status: str | None = None, page: int = 1,
                             per_page: int = 20, scope: str | None = None, *,
                             actor: dict | None) -> dict:
        """The office queue. `actor` (required: every read of a letter is logged, decision
        0034) is the reader; None only for internal callers."""
        return letters.list_village_letters(self.db, village_code, status, page, per_page, scope,
                                            actor, self.request_id)

    @rpc
    @transaction
    def list_resident_letters(self, nik: str, scope: str | None, actor: dict, page: int = 1,
                              per_page: int = 20) -> dict:
        return letters.list_resident_letters(self.db, nik, scope, actor, page, per_page,
                                             self.request_id)

    @rpc
    @transaction
    def check_letter(self, letter_id: str, scope: str | None, actor: dict) -> dict:
        return requests.change_status(self.db, self.outbox, letter_id, "check", scope, actor)

    @rpc
    @transaction
    def reject_letter(self, letter_id: str, reason: str, scope: str | None, actor: dict) -> dict:
        return requests.change_status(self.db, self.outbox, letter_id, "reject", scope, actor,
                                      reason)

    @rpc
    @transaction
    def cancel_letter(self, letter_id: str, reason: str, scope: str | None, actor: dict) -> dict:
        return requests.change_status(self.db, self.outbox, letter_id, "cancel", scope, actor,
                                      reason)

    @rpc
    def sign_letter(self, letter_id: str, scope: str | None, actor: dict) -> dict:
        """Number and sign in one short transaction, then render and store the PDF in another;
        if that fails the letter stays signed and `issue_pending` finishes it."""
        self._sign(letter_id, scope, actor)
        # Not issued: the letter as it now stands, with its failed attempt and the next one.
        return self._issue(letter_id) or self.get_letter(letter_id, scope, actor)

    @transaction
    def _sign(self, letter_id: str, scope: str | None, actor: dict) -> dict:
        return numbering.sign_letter(self.db, self.outbox, letter_id, scope, actor)

    @transaction
    def _issue_now(self, letter_id: str) -> dict | None:
        return issuing.issue_letter(self.db, self.outbox, self.store, self.signing_key,
                                    letter_id)

    def _issue(self, letter_id: str) -> dict | None:
        try:
            return self._issue_now(letter_id)
        except Exception as exc:  # noqa: BLE001 - retried with backoff; the signing stands
            log.exception("issuing a signed letter failed; will retry",
                          extra={"letter_id": letter_id})
            try:
                self._record_issue_failure(letter_id, f"{type(exc).__name__}: {exc}")
            except Exception:  # noqa: BLE001 - the database too: the next pass tries again
                log.exception("could not record the failed issue", extra={"letter_id": letter_id})
            return None

    @transaction
    def _record_issue_failure(self, letter_id: str, error: str) -> dict | None:
        return issuing.record_issue_failure(self.db, letter_id, error)

    @timer(interval=15)
    def issue_pending(self) -> None:
        """Signed letters whose PDF step is due again (backoff), until they are parked."""
        with unit_of_work(self.db):
            due = issuing.signed_not_issued(self.db, ISSUE_RETRY_AFTER)
        for letter_id in due:
            self._issue(letter_id)

    @rpc
    @transaction
    def list_parked_letters(self, scope: str | None, village_code: str | None = None
                            ) -> list[dict]:
        """Signed letters whose PDF failed too often, for an operator to retry."""
        return issuing.parked_letters(self.db, scope, village_code)

    @rpc
    def retry_issue(self, letter_id: str, scope: str | None) -> dict:
        """An operator's retry of a parked (or waiting) letter: a fresh round, tried now."""
        self._unpark(letter_id, scope)
        self._issue(letter_id)
        return self._issue_state(letter_id)

    @transaction
    def _unpark(self, letter_id: str, scope: str | None) -> dict:
        return issuing.unpark(self.db, letter_id, scope)

    @transaction
    def _issue_state(self, letter_id: str) -> dict:
        return issuing.issue_state_of(self.db, letter_id)

    # -- documents ---------------------------------------------------------------------------
    @rpc
    @transaction
    def open_pdf(self, letter_id: str, scope: str | None, actor: dict) -> dict:
        return issuing.open_pdf(self.db, self.outbox, letter_id, scope, actor, self.request_id)

    @rpc
    @transaction
    def attachment_key(self, letter_id: str, scope: str | None, actor: dict) -> dict:
        return attachments.attachment_key(self.db, letter_id, scope, actor)

    @rpc
    @transaction
    def open_attachment(self, letter_id: str, attachment_id: str, scope: str | None,
                        actor: dict) -> dict:
        return attachments.open_attachment(self.db, letter_id, attachment_id, scope, actor,
                                           self.request_id)

    @rpc
    @transaction
    def record_attachment(self, letter_id: str, attachment: dict, scope: str | None,
                          actor: dict) -> dict:
        return attachments.record_attachment(self.db, self.outbox, self.store, letter_id,
                                             attachment, scope, actor)

    # -- verification (public) ---------------------------------------------------------------
    @rpc
    @transaction
    def verify_token(self, token: str) -> dict:
        return verification.verify_token(self.db, self.verify_keys, token)

    @rpc
    @transaction
    def verify_pdf(self, sha256: str) -> dict:
        return verification.verify_pdf(self.db, sha256)

    # -- office views ------------------------------------------------------------------------
    @rpc
    @transaction
    def letter_register(self, village_code: str, date_from: str, date_to: str,
                        file_format: str, scope: str | None, *, actor: dict | None) -> dict:
        """Buku Agenda as a file: {filename, content_type, content_base64}; a logged read of
        every letter in it by `actor` (decision 0034)."""
        return office.letter_register_file(self.db, village_code, date_from, date_to,
                                           file_format, scope, actor, self.request_id)

    @rpc
    @transaction
    def letter_counts(self, year: int, scope: str | None, village_code: str | None = None
                      ) -> list[dict]:
        return office.letter_counts(self.db, year, scope, village_code)

    # -- read models from registry events (the inbox commits each one) -----------------------
    @consumes("registry", "village.updated")
    def on_village_updated(self, envelope: dict) -> None:
        readmodels.apply_village(self.db, envelope["payload"])

    @consumes("registry", "resident.registered")
    def on_resident_registered(self, envelope: dict) -> None:
        readmodels.apply_resident(self.db, envelope["payload"])

    @consumes("registry", "resident.updated")
    def on_resident_updated(self, envelope: dict) -> None:
        readmodels.apply_resident(self.db, envelope["payload"])

    @consumes("registry", "resident.died")
    def on_resident_died(self, envelope: dict) -> None:
        readmodels.apply_resident(self.db, envelope["payload"])

    @consumes("registry", "resident.moved_out")
    def on_resident_moved_out(self, envelope: dict) -> None:
        readmodels.apply_resident(self.db, envelope["payload"])

    @consumes("registry", "resident.moved_in")
    def on_resident_moved_in(self, envelope: dict) -> None:
        readmodels.apply_resident(self.db, envelope["payload"])

    # -- web portal --------------------------------------------------------------------------
    @rpc
    @transaction
    def recent_activity(self) -> list:
        """Per village: letters requested in the last 30 days, last request (regency view)."""
        return portal.recent_activity(self.db)


SERVICE = LettersService
