"""Login lock-out: failures counted per login name (username or NIK) and per source address.

Plain Python, no SQL. A counter is kept per *key*: the login name as typed (whether or not such an
account, resident or PIN exists, so an unknown NIK is locked exactly like a known one) and the
caller's address. After `limit` failures the key is locked; each further lock-out of the same key
lasts twice as long as the one before (backoff), up to a day. A success clears the login name's
counter, never the address's (one valid account must not reset a guessing address).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common import rules

ACCOUNT = "account"
NIK = "nik"
ADDRESS = "address"

MAX_LOCK = timedelta(hours=24)
FORGET_AFTER = timedelta(hours=24)  # a counter without a failure for a day starts again


class WrongCredentials(rules.LoginRefused):
    """Wrong login name or secret (the failure is counted)."""


class WrongCurrentPassword(rules.InvalidValue):
    """A password change with a wrong current password: counted like a failed login (HTTP 400
    at `current_password`, so a stolen token cannot guess the password without a lock-out)."""

    field = "current_password"
    keeps_changes = True


class LoginLocked(rules.LoginLocked):
    """Too many failures for this login name or address: refused until the lock passes."""


@dataclass(frozen=True)
class Policy:
    """How many failures a login name and an address may have, and the first lock's length."""

    failures_per_key: int = 5
    failures_per_address: int = 100
    lock_seconds: int = 900

    def limit(self, kind: str) -> int:
        return self.failures_per_address if kind == ADDRESS else self.failures_per_key

    @classmethod
    def from_settings(cls, settings) -> Policy:
        return cls(settings.login_failures_per_key, settings.login_failures_per_address,
                   settings.login_lock_seconds)


@dataclass
class Counter:
    """The state of one key (a row of `login_failures`)."""

    kind: str
    failures: int = 0
    lockouts: int = 0
    locked_until: datetime | None = None
    last_failure_at: datetime | None = None


def key(kind: str, value: str) -> str:
    """The stored key: a hash, so typed usernames, NIKs and addresses are not kept in clear."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def lock_length(lockouts: int, policy: Policy) -> timedelta:
    """The n-th lock-out (0-based) lasts lock_seconds * 2**n, at most a day."""
    return min(timedelta(seconds=policy.lock_seconds) * (2 ** min(lockouts, 20)), MAX_LOCK)


def check(counters: list[Counter], now: datetime) -> None:
    """Refuse while any of the caller's keys is locked (before any secret is checked)."""
    until = max((c.locked_until for c in counters
                 if c.locked_until is not None and c.locked_until > now), default=None)
    if until is not None:
        raise LoginLocked("Too many failed logins; try again later",
                          fields={"locked_until": [until.isoformat()]})


def record_failure(counter: Counter, policy: Policy, now: datetime) -> bool:
    """Count one failure; True when it locked the key."""
    if counter.last_failure_at is not None and now - counter.last_failure_at > FORGET_AFTER:
        counter.failures, counter.lockouts = 0, 0
    counter.failures += 1
    counter.last_failure_at = now
    if counter.failures < policy.limit(counter.kind):
        return False
    counter.locked_until = now + lock_length(counter.lockouts, policy)
    counter.lockouts += 1
    counter.failures = 0
    return True
