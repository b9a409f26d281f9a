"""What every nameko service shares: the one place that commits, error mapping, ping, outbox.

`@transaction` wraps an entrypoint (and `unit_of_work` any other caller: the CLI, seeds, tests):
the application code it runs never commits; this commits when it returns and rolls back when it
raises, so a state change and the outbox rows describing it land together or not at all. Domain
refusals (services/common/rules.py) become wire errors here, in one table. Called over RPC with
an idempotency key, a unit of work runs once per key (services/common/idempotency.py); past the
caller's deadline it rolls back instead of committing (services/common/entrypoints.py).
"""
from __future__ import annotations

import functools
import inspect
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from nameko.exceptions import IncorrectSignature
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from sqlalchemy.orm import Session

from services.common import audit, errors, idempotency, rules
from services.common.entrypoints import CallContext, RpcCall, rpc
from services.common.outbox import Outbox

# How often each service drops idempotency keys older than idempotency.RETENTION.
FORGET_KEYS_EVERY_SECONDS = 3600
# How often each service chains its new audit rows (decision 0032: sealed within seconds).
SEAL_AUDIT_EVERY_SECONDS = 1

WIRE_ERRORS: dict[type[rules.RuleError], type[errors.DesaError]] = {
    rules.InvalidValue: errors.ValidationFailed,
    rules.NotPermitted: errors.Forbidden,
    rules.WrongState: errors.Conflict,
    rules.Refused: errors.Unprocessable,
    rules.LoginRefused: errors.Unauthenticated,
    rules.LoginLocked: errors.TooManyAttempts,
    rules.RuleError: errors.Unprocessable,  # a refusal of no named kind: the rules say no
}


def to_wire(exc: rules.RuleError) -> errors.DesaError:
    """The wire error of a domain refusal: the first of its classes found in WIRE_ERRORS."""
    wire = next(WIRE_ERRORS[cls] for cls in type(exc).__mro__ if cls in WIRE_ERRORS)
    return wire(exc.message, fields=exc.fields)


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Commit what the block did, or roll all of it back; refusals leave as wire errors.

    A refusal marked `keeps_changes` (a failed login counts the failure) commits first.
    """
    try:
        yield session
    except rules.RuleError as exc:
        if getattr(exc, "keeps_changes", False):
            session.commit()
        else:
            session.rollback()
        raise to_wire(exc) from None
    except BaseException:
        session.rollback()
        raise
    session.commit()


def transaction(fn: Callable) -> Callable:
    """Decorate a service method: its work commits once, at the end, through `unit_of_work`."""

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:  # nameko checks the wrapper's (*args) signature; check the method's own
            inspect.getcallargs(fn, self, *args, **kwargs)
        except TypeError as exc:
            raise IncorrectSignature(str(exc)) from None
        call = getattr(self, "rpc_call", None)
        key = call.idempotency_key if isinstance(call, RpcCall) else None
        if getattr(wrapper, idempotency.RUNS_EVERY_TIME, False):
            key = None
        with unit_of_work(self.db):
            if key is not None:
                operation = fn.__qualname__
                replay = idempotency.claim(self.db, key, operation,
                                           idempotency.fingerprint(operation, args, kwargs))
                if replay is not None:
                    return replay.result
            result = fn(self, *args, **kwargs)
            if key is not None:
                idempotency.remember(self.db, key, operation, result)
            if isinstance(call, RpcCall):
                call.check_deadline()  # the caller has gone: roll back rather than commit
            return result

    return wrapper


class OutboxProvider(DependencyProvider):
    """The service's outbox: built once per container, handed to every worker."""

    def setup(self) -> None:
        self.outbox = Outbox(self.container.service_name)

    def get_dependency(self, worker_ctx) -> Outbox:
        return self.outbox


class ServiceBase:
    """Base of every service class: `ping` for readiness (the broker and the database answer),
    the caller's deadline and idempotency key (`rpc_call`), forgetting old keys, and its audit
    log (sealed by a timer, read and verified by the regency admin)."""

    name: str
    db: Session
    rpc_call = CallContext()

    @rpc
    def ping(self) -> dict:
        self.db.execute(sa.text("SELECT 1"))
        return {"service": self.name, "database": "ok"}

    @rpc
    def process(self) -> str:
        """`host:pid` of the process that answered: processes of a service share its queue."""
        return f"{socket.gethostname()}:{os.getpid()}"

    @timer(interval=FORGET_KEYS_EVERY_SECONDS)
    def forget_idempotency_keys(self) -> None:
        with unit_of_work(self.db):
            idempotency.forget_expired(self.db)

    @timer(interval=SEAL_AUDIT_EVERY_SECONDS)
    def seal_audit_log(self) -> None:
        with unit_of_work(self.db):
            audit.seal(self.db, self.name)

    @rpc
    @transaction
    def audit_entries(self, village_code: str | None = None, nik: str | None = None,
                      actor: str | None = None, action: str | None = None, page: int = 1,
                      per_page: int = 20) -> dict:
        return audit.entries(self.db, self.name, village_code=village_code, nik=nik,
                             actor=actor, action=action, page=page, per_page=per_page)

    @rpc
    @transaction
    def audit_verify(self) -> dict:
        return audit.verify(self.db, self.name)
