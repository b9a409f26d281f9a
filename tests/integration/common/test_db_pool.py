"""The connection pool pings only connections that sat idle, and replaces a dead one unseen."""
from __future__ import annotations

import sqlalchemy as sa

from services.common import db
from services.common.db import make_engine
from tests.integration.common.conftest import KERNEL


def _backend(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.pg_backend_pid()))


def _kill(kernel_db, pid: int) -> None:
    with kernel_db.connect() as conn:
        assert conn.scalar(sa.select(sa.func.pg_terminate_backend(pid)))


def test_an_idle_connection_killed_by_the_server_is_replaced_before_use(kernel_db, infra,
                                                                         monkeypatch):
    engine = make_engine(infra.database_url(KERNEL), pool_size=1, max_overflow=0)
    try:
        first = _backend(engine)
        _kill(kernel_db, first)
        monkeypatch.setattr(db, "PING_IDLE_SECONDS", 0.0)  # as if it sat idle long enough
        assert _backend(engine) != first  # pinged, found dead, replaced: no error
    finally:
        engine.dispose()


def test_a_connection_back_in_the_pool_moments_ago_is_not_pinged(kernel_db, infra):
    """The ping is skipped on the hot path: a connection killed since its last use is only
    found out by the statement that uses it (what a skipped ping means)."""
    engine = make_engine(infra.database_url(KERNEL), pool_size=1, max_overflow=0)
    try:
        _kill(kernel_db, _backend(engine))
        try:
            _backend(engine)
        except sa.exc.DBAPIError as exc:
            assert exc.connection_invalidated
        else:
            raise AssertionError("the connection was pinged although it had just been used")
        _backend(engine)  # the pool replaced it after the failure
    finally:
        engine.dispose()
