"""The lock-out rules: limits per kind of key, backoff, forgetting."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.registry import lockout

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
POLICY = lockout.Policy(failures_per_key=5, failures_per_address=100, lock_seconds=900)


def test_a_name_locks_after_its_limit_and_each_lock_doubles():
    counter = lockout.Counter(lockout.NIK)
    assert [lockout.record_failure(counter, POLICY, NOW) for _ in range(5)] == [False] * 4 + [True]
    assert counter.locked_until == NOW + timedelta(minutes=15)
    with pytest.raises(lockout.LoginLocked):
        lockout.check([counter], NOW + timedelta(minutes=14))
    later = NOW + timedelta(minutes=16)
    lockout.check([counter], later)  # passed
    for _ in range(5):
        locked = lockout.record_failure(counter, POLICY, later)
    assert locked and counter.locked_until == later + timedelta(minutes=30)
    assert lockout.lock_length(10, POLICY) == lockout.MAX_LOCK


def test_an_address_has_its_own_limit():
    counter = lockout.Counter(lockout.ADDRESS)
    assert not any(lockout.record_failure(counter, POLICY, NOW) for _ in range(99))
    assert lockout.record_failure(counter, POLICY, NOW)


def test_a_quiet_day_starts_the_count_again():
    counter = lockout.Counter(lockout.ACCOUNT, failures=4, lockouts=3,
                              last_failure_at=NOW - timedelta(days=2))
    assert not lockout.record_failure(counter, POLICY, NOW)
    assert (counter.failures, counter.lockouts) == (1, 0)


def test_keys_do_not_keep_names_in_clear():
    key = lockout.key(lockout.NIK, "3604051201909901")
    assert "3604051201909901" not in key and len(key) == 64
    assert key != lockout.key(lockout.ACCOUNT, "3604051201909901")
