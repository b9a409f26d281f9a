"""Database access: engines, the nameko Database provider (one session per worker), DB creation.

Services use psycopg2, which eventlet's monkey patching makes cooperative (ARCHITECTURE rule 9);
`tests/integration/test_db_concurrency.py` would catch a driver that blocks the hub.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from services.common.config import get_settings
from services.common.service import unit_of_work

# A pooled connection idle for longer than this is pinged before it is handed out.
PING_IDLE_SECONDS = 2.0


def make_engine(url: str, **kwargs) -> Engine:
    # Query parameters carry NIKs; keep them out of exception messages and so out of logs.
    options = {"hide_parameters": True}
    if kwargs.get("poolclass") is not sa.pool.NullPool:
        options.update(pool_size=10, max_overflow=10)
    options.update(kwargs)
    engine = sa.create_engine(url, **options)
    if options.get("poolclass") is not sa.pool.NullPool:
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pre-ping, only for connections that sat idle in the pool (decision 0096).

    `pool_pre_ping` costs a round trip on every checkout: one in four statements of an event
    handler, one in three of a resident read. A connection checked in moments ago was alive
    then; one idle for PING_IDLE_SECONDS or more (a database restart, a killed session, a
    network cut may have ended it) is pinged, and a dead one replaced before anyone uses it.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection, record) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection, record, proxy) -> None:
        if time.monotonic() - record.info.get("checked_in", 0.0) < PING_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                # The pool discards this connection and checks out (or opens) another.
                raise sa.exc.DisconnectionError(str(exc)) from exc
            raise


def _admin_engine(target: sa.URL) -> Engine:
    """The server's `postgres` database, outside transactions (CREATE/DROP DATABASE need that)."""
    return make_engine(target.set(database="postgres").render_as_string(hide_password=False),
                       isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def create_database(url: str) -> bool:
    """Create the database named in `url` if it does not exist. Returns True if created."""
    target = make_url(url)
    admin = _admin_engine(target)
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": target.database})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    return not exists


def drop_database(url: str) -> None:
    target = make_url(url)
    admin = _admin_engine(target)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


class Database(DependencyProvider):
    """Gives each worker its own SQLAlchemy Session, closed when the worker ends."""

    def __init__(self, service_name: str):
        self.service_name = service_name
        self.engine: Engine | None = None
        self.sessionmaker: sessionmaker | None = None
        self.sessions: dict = {}

    def setup(self) -> None:
        self.engine = make_engine(get_settings().database_url(self.service_name))
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def get_dependency(self, worker_ctx) -> Session:
        session = self.sessionmaker()
        self.sessions[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx) -> None:
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work commits through the unit of work (CLI, seeds, republish)."""
    with Session(bind=engine, expire_on_commit=False) as session, unit_of_work(session):
        yield session
