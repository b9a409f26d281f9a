"""A scratch "kernel" database with the outbox, inbox and dead-letter tables, for kernel tests."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.common.db import create_database, drop_database, make_engine
from services.common.tables import add_kernel_tables, dead_letters, outbox  # noqa: F401
from tests.support.infrastructure import rabbitmqctl

KERNEL = "kernel"

metadata = sa.MetaData()
add_kernel_tables(metadata)
things = sa.Table(
    "things", metadata,
    sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(80), nullable=False),
)


@pytest.fixture
def kernel_db(infra):
    url = infra.database_url(KERNEL)
    create_database(url)
    engine = make_engine(url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()
    drop_database(url)


@pytest.fixture
def fresh_vhost(infra):
    """An empty RabbitMQ vhost (its AMQP URI), as on a first deploy where nothing declared yet."""
    vhost = f"{infra.vhost}_fresh{uuid.uuid4().hex[:6]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    rabbitmqctl("delete_vhost", vhost)
