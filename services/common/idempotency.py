"""Idempotent units of work: a repeated request returns the first result and changes nothing.

The gateway gives every RPC call of a state-changing HTTP request an idempotency key (the
client's `Idempotency-Key` header, or one it makes, plus the call's position in the request).
`@transaction` claims `(key, operation)` in the `idempotency_keys` table in the same transaction
as the work and stores the result with it, so a repeat (a client's retry, a broker redelivery, a
publish retried after a lost confirm) waits for the first to finish and then returns its result.
A key sent again with different arguments is refused. Keys are kept for `RETENTION`.
"""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.common import clock
from services.common.errors import IdempotencyKeyReused
from services.common.tables import idempotency_keys

RETENTION = timedelta(hours=24)
RUNS_EVERY_TIME = "_desa_runs_every_time"


def runs_every_time(fn):
    """Mark a unit of work that checks or hands out a secret (a login, a new PIN): it is never
    replayed, and neither its arguments nor its result are stored."""
    setattr(fn, RUNS_EVERY_TIME, True)
    return fn


def fingerprint(operation: str, args: tuple, kwargs: dict) -> str:
    body = json.dumps([operation, list(args), kwargs], sort_keys=True, default=str,
                      separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class Replay:
    """The stored result of the first run of a repeated request."""

    def __init__(self, result: Any):
        self.result = result


def claim(session: Session, key: str, operation: str, print_: str) -> Replay | None:
    """Claim the key for this run, or the first run's result.

    A concurrent first run holds the key's row lock until it commits or rolls back; the insert
    waits for it, so two copies of one request never both do the work.
    """
    fresh = session.execute(
        insert(idempotency_keys).values(key=key, operation=operation, fingerprint=print_)
        .on_conflict_do_nothing(index_elements=["key", "operation"])).rowcount
    if fresh:
        return None
    row = session.execute(sa.select(idempotency_keys.c.fingerprint, idempotency_keys.c.result)
                          .where(idempotency_keys.c.key == key,
                                 idempotency_keys.c.operation == operation)).one()
    if row.fingerprint != print_:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request.",
            fields={"Idempotency-Key": ["Already used for a different request."]})
    return Replay(json.loads(row.result) if row.result is not None else None)


def remember(session: Session, key: str, operation: str, result: Any) -> None:
    session.execute(idempotency_keys.update()
                    .where(idempotency_keys.c.key == key,
                           idempotency_keys.c.operation == operation)
                    .values(result=json.dumps(result, default=str)))


def forget_expired(session: Session) -> int:
    """Drop keys older than RETENTION (a repeat after that runs again)."""
    return session.execute(idempotency_keys.delete().where(
        idempotency_keys.c.created_at < clock.now() - RETENTION)).rowcount
