"""Database access: engines, the nameko Database provider (one session per worker), DB creation.

Services use psycopg2, which eventlet's monkey patching makes cooperative (ARCHITECTURE rule 9);
`tests/integration/test_db_concurrency.py` would catch a driver that blocks the hub.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from services.common.config import get_settings
from services.common.service import unit_of_work


def make_engine(url: str, **kwargs) -> Engine:
    # Query parameters carry NIKs; keep them out of exception messages and so out of logs.
    options = {"pool_pre_ping": True, "hide_parameters": True}
    if kwargs.get("poolclass") is not sa.pool.NullPool:
        options.update(pool_size=10, max_overflow=10)
    options.update(kwargs)
    return sa.create_engine(url, **options)


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
