"""Alembic, one history per service database: `upgrade(service)` and the shared env.py body."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from services.common.config import get_settings
from services.common.db import create_database
from services.common.tables import KERNEL

SERVICES_DIR = Path(__file__).resolve().parent.parent


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().database_url(service))
                        .replace("%", "%%"))
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    """Create the service's database if needed and bring it to the latest migration."""
    url = url or get_settings().database_url(service)
    create_database(url)
    command.upgrade(alembic_config(service, url), "head")
    install_capture(url)


def install_capture(url: str) -> None:
    """Watch every table the migrations made with the backup's change capture (decision 0060)."""
    from services.common.backup import capture
    from services.common.db import make_engine

    engine = make_engine(url, poolclass=sa.pool.NullPool)
    try:
        capture.install(engine)
    finally:
        engine.dispose()


def run_env(target_metadata: sa.MetaData) -> None:
    """Body of every service's migrations/env.py (online mode only)."""
    from alembic import context

    engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url"),
                              poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def create_kernel_tables() -> None:
    """In a service's first migration: the outbox, inbox and dead_letters tables."""
    from alembic import op

    KERNEL.create_all(op.get_bind())


def drop_kernel_tables() -> None:
    """In a service's first migration's downgrade."""
    from alembic import op

    KERNEL.drop_all(op.get_bind())


def create_kernel_table(name: str) -> None:
    """In a later migration: one kernel table added after a service's first migration (a
    database made from scratch already has it from `create_kernel_tables`)."""
    from alembic import op

    KERNEL.tables[name].create(op.get_bind(), checkfirst=True)


def drop_kernel_table(name: str) -> None:
    from alembic import op

    KERNEL.tables[name].drop(op.get_bind(), checkfirst=True)


def add_audit_key_id() -> None:
    """audit_log.key_id (decision 0035), and the append-only trigger that lets the sealer set
    it once with `seq` and `hash`. Existing rows keep NULL: sealed with plain SHA-256."""
    from alembic import op

    from services.common.audit import install_guard

    op.execute("ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS key_id varchar(16)")
    install_guard(op.get_bind())


def drop_audit_key_id() -> None:
    from alembic import op

    op.execute("ALTER TABLE audit_log DROP COLUMN IF EXISTS key_id")
