"""What every nameko service shares: the one place that commits, error mapping, ping, outbox.

`@transaction` wraps an entrypoint (and `unit_of_work` any other caller: the CLI, seeds, tests):
the application code it runs never commits; this commits when it returns and rolls back when it
raises, so a state change and the outbox rows describing it land together or not at all. Domain
refusals (services/common/rules.py) become wire errors here, in one table.
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
from sqlalchemy.orm import Session

from services.common import errors, rules
from services.common.entrypoints import rpc
from services.common.outbox import Outbox

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
        with unit_of_work(self.db):
            return fn(self, *args, **kwargs)

    return wrapper


class OutboxProvider(DependencyProvider):
    """The service's outbox: built once per container, handed to every worker."""

    def setup(self) -> None:
        self.outbox = Outbox(self.container.service_name)

    def get_dependency(self, worker_ctx) -> Outbox:
        return self.outbox


class ServiceBase:
    """Base of every service class: `ping` for readiness (the broker and the database answer)."""

    name: str
    db: Session

    @rpc
    def ping(self) -> dict:
        self.db.execute(sa.text("SELECT 1"))
        return {"service": self.name, "database": "ok"}

    @rpc
    def process(self) -> str:
        """`host:pid` of the process that answered: processes of a service share its queue."""
        return f"{socket.gethostname()}:{os.getpid()}"
