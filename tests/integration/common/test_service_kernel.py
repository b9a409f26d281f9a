"""A new service built from the kernel alone gets everything a service needs, and its state
changes and their outbox rows commit and roll back together.

The throwaway service below is written into a temporary package with nothing but kernel imports:
a model with `village_code`, one entrypoint, one event and a handler of that event. If the kernel
stopped providing any of migrations, outbox, relay, inbox, topology or ping, this test fails.
"""
from __future__ import annotations

import importlib
import sys
import textwrap
import time
import uuid

import kombu
import kombu.exceptions
import pytest
import sqlalchemy as sa
from nameko import rpc as nameko_rpc
from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook

from services.common import migrations
from services.common.config import get_settings
from services.common.db import drop_database, make_engine
from services.common.errors import (
    DatabaseUnavailable,
    DeadlineExceeded,
    IdempotencyKeyReused,
    Unprocessable,
)
from services.common.relay import Relay
from services.common.tables import inbox, outbox
from services.common.topology import event_exchange, subscriptions_of

VILLAGE = "36.04.05.2001"

MODELS = '''
"""Notes: the smallest village-owned aggregate."""
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.tables import add_kernel_tables


class Base(DeclarativeBase):
    pass


add_kernel_tables(Base.metadata)


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(sa.Integer, sa.Identity(), primary_key=True)
    village_code: Mapped[str] = mapped_column(sa.String(13))
    text: Mapped[str] = mapped_column(sa.String(80))


class Echo(Base):
    """What the handler of note.written saw."""
    __tablename__ = "echoes"
    note_id: Mapped[int] = mapped_column(primary_key=True)
    village_code: Mapped[str] = mapped_column(sa.String(13))
'''

SERVICE = '''
"""A throwaway service: kernel imports only."""
import sqlalchemy as sa

from services.common import rules
from services.common.entrypoints import rpc
from services.common.db import Database
from services.common.entrypoints import rpc
from services.common.inbox import consumes
from services.common.service import OutboxProvider, ServiceBase, transaction
from {name}.models import Echo, Note


class ScratchService(ServiceBase):
    name = "{name}"
    db = Database("{name}")
    outbox = OutboxProvider()

    @rpc
    @transaction
    def write(self, village_code, text, fail=False):
        note = Note(village_code=village_code, text=text)
        self.db.add(note)
        self.db.flush()
        self.outbox.record(self.db, "note.written", village_code=village_code,
                           aggregate_id=str(note.id), payload={{"id": note.id, "text": text}})
        if fail:
            raise rules.Refused("refused after the event was recorded")
        return {{"id": note.id}}

    @rpc
    def nap(self, seconds):
        self.db.execute(sa.text("SELECT pg_sleep(:s)"), {{"s": seconds}})
        return "rested"

    @consumes("{name}", "note.written")
    def on_note_written(self, envelope):
        self.db.add(Echo(note_id=envelope["payload"]["id"],
                         village_code=envelope["village_code"]))


SERVICE = ScratchService
'''

ENV = '''
from services.common.migrations import run_env
from {name}.models import Base

run_env(Base.metadata)
'''

FIRST_REVISION = '''
"""Initial schema."""
from alembic import op
import sqlalchemy as sa

from services.common.migrations import create_kernel_tables, drop_kernel_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_kernel_tables()
    op.create_table("notes",
                    sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
                    sa.Column("village_code", sa.String(13), nullable=False),
                    sa.Column("text", sa.String(80), nullable=False))
    op.create_table("echoes",
                    sa.Column("note_id", sa.Integer(), primary_key=True),
                    sa.Column("village_code", sa.String(13), nullable=False))


def downgrade():
    op.drop_table("echoes")
    op.drop_table("notes")
    drop_kernel_tables()
'''


@pytest.fixture
def scratch(tmp_path, monkeypatch, migrated):
    """The throwaway service's package on sys.path and its database migrated."""
    name = f"scratch{uuid.uuid4().hex[:8]}"
    package = tmp_path / name
    (package / "migrations" / "versions").mkdir(parents=True)
    (package / "__init__.py").write_text('"""Throwaway."""\n')
    (package / "models.py").write_text(MODELS)
    (package / "service.py").write_text(SERVICE.format(name=name))
    (package / "migrations" / "env.py").write_text(ENV.format(name=name))
    (package / "migrations" / "versions" / "0001_initial.py").write_text(
        textwrap.dedent(FIRST_REVISION))
    monkeypatch.syspath_prepend(str(tmp_path))
    # Service databases are found by name under the services folder; this one lives in tmp.
    monkeypatch.setattr(migrations, "SERVICES_DIR", tmp_path)
    migrations.upgrade(name)
    engine = make_engine(get_settings().database_url(name), poolclass=sa.pool.NullPool)
    yield name, importlib.import_module(f"{name}.service").SERVICE, engine
    engine.dispose()
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]
    drop_database(get_settings().database_url(name))


def count(engine, table, **where) -> int:
    stmt = sa.select(sa.func.count()).select_from(table)
    for column, value in where.items():
        stmt = stmt.where(table.c[column] == value)
    with engine.connect() as conn:
        return conn.scalar(stmt)


def notes(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT id, text FROM notes ORDER BY id")).all()


def wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def test_a_service_from_the_kernel_alone_gets_the_whole_platform(scratch, container_factory,
                                                                 nameko_config):
    name, service_cls, engine = scratch
    # Topology: the declare step finds the handler's queue from the class alone.
    subscriptions = subscriptions_of(service_cls)
    assert [(s.source, s.event_type) for s in subscriptions] == [(name, "note.written")]
    with kombu.Connection(get_settings().amqp_uri) as conn:
        channel = conn.channel()
        event_exchange(name)(channel).declare()
        for subscription in subscriptions:
            subscription.queue()(channel).declare()

    container = container_factory(service_cls, nameko_config)
    container.start()
    # Readiness: the service answers ping over the broker with its database ok.
    with ClusterRpcProxy(nameko_config, timeout=10) as proxy:
        assert proxy[name].ping() == {"service": name, "database": "ok"}

    with entrypoint_hook(container, "write") as write:
        note = write(VILLAGE, "first")
    # Outbox: the event is in the service's own outbox, in the kernel's envelope.
    with engine.connect() as conn:
        envelope = conn.scalar(sa.select(outbox.c.envelope))
    assert envelope["type"] == "note.written" and envelope["source"] == name
    assert envelope["village_code"] == VILLAGE and envelope["payload"]["id"] == note["id"]

    # Relay, then inbox: the event reaches the handler once, even when delivered twice.
    relay = Relay(name)
    try:
        assert relay.publish_pending() == 1
        wait_for(lambda: count(engine, sa.table("echoes", sa.column("note_id"))))
        with kombu.Connection(get_settings().amqp_uri) as conn:
            kombu.Producer(conn.channel()).publish(
                envelope, exchange=event_exchange(name), routing_key="note.written",
                serializer="json")
        wait_for(lambda: count(engine, inbox) == 1)
        time.sleep(0.3)  # a second application would show as a second inbox row or an error
        assert count(engine, inbox, event_id=envelope["event_id"]) == 1
        assert count(engine, sa.table("echoes", sa.column("note_id"))) == 1
    finally:
        relay.close()
        relay.engine.dispose()


def test_the_outbox_row_commits_and_rolls_back_with_its_change(scratch, container_factory,
                                                               nameko_config):
    """An Outbox that wrote its row in a transaction of its own would leave an event behind
    for a change that never happened: the refused call below would find one outbox row."""
    _name, service_cls, engine = scratch
    container = container_factory(service_cls, nameko_config)
    container.start()

    with entrypoint_hook(container, "write") as write, pytest.raises(Unprocessable):
        write(VILLAGE, "refused", fail=True)
    assert notes(engine) == [] and count(engine, outbox) == 0

    with entrypoint_hook(container, "write") as write:
        kept = write(VILLAGE, "kept")
    assert notes(engine) == [(kept["id"], "kept")]
    with engine.connect() as conn:
        events = conn.execute(sa.select(outbox.c.aggregate_id, outbox.c.envelope)).all()
    assert [(row.aggregate_id, row.envelope["payload"]) for row in events] == [
        (str(kept["id"]), {"id": kept["id"], "text": "kept"})]


def test_a_service_from_the_kernel_runs_a_repeated_call_once(scratch, container_factory,
                                                             nameko_config):
    """The gateway's idempotency key reaches any kernel service as context data: the second
    call with it returns the first result and writes nothing; another request under the same
    key is refused; a refused first call leaves the key free."""
    _name, service_cls, engine = scratch
    container = container_factory(service_cls, nameko_config)
    container.start()
    key = {"idempotency_key": f"k-{uuid.uuid4().hex}:1"}
    with entrypoint_hook(container, "write", context_data=key) as write:
        first = write(VILLAGE, "once")
    with entrypoint_hook(container, "write", context_data=key) as write:
        assert write(VILLAGE, "once") == first
    with entrypoint_hook(container, "write", context_data=key) as write, \
            pytest.raises(IdempotencyKeyReused):
        write(VILLAGE, "something else")
    assert notes(engine) == [(first["id"], "once")] and count(engine, outbox) == 1

    refused = {"idempotency_key": f"k-{uuid.uuid4().hex}:1"}
    with entrypoint_hook(container, "write", context_data=refused) as write, \
            pytest.raises(Unprocessable):
        write(VILLAGE, "refused", fail=True)
    with entrypoint_hook(container, "write", context_data=refused) as write:
        kept = write(VILLAGE, "kept")
    assert notes(engine) == [(first["id"], "once"), (kept["id"], "kept")]


def test_a_service_from_the_kernel_refuses_work_past_its_deadline(scratch, container_factory,
                                                                  nameko_config):
    """Past the caller's deadline a unit of work rolls back instead of committing, and a
    request that reaches the service already late never runs at all."""
    name, service_cls, engine = scratch
    container = container_factory(service_cls, nameko_config)
    container.start()
    with entrypoint_hook(container, "write", context_data={"deadline": time.time() - 1}) as write, \
            pytest.raises(DeadlineExceeded):
        write(VILLAGE, "too late")
    with ClusterRpcProxy(nameko_config, timeout=10,
                         context_data={"deadline": time.time() - 1}) as proxy, \
            pytest.raises(DeadlineExceeded):
        proxy[name].write(VILLAGE, "queued too long")
    assert notes(engine) == [] and count(engine, outbox) == 0
    with entrypoint_hook(container, "write",
                         context_data={"deadline": time.time() + 30}) as write:
        write(VILLAGE, "in time")
    assert [text for _id, text in notes(engine)] == ["in time"]


def test_a_call_whose_database_connection_is_killed_answers_unavailable_and_the_next_works(
        scratch, container_factory, nameko_config):
    """pg_terminate_backend on the connection a call is using: the caller gets
    DatabaseUnavailable (the gateway's 503 with Retry-After), never an undeclared error, and the
    service's pool replaces the connection for the next call."""
    name, service_cls, engine = scratch
    container = container_factory(service_cls, nameko_config)
    container.start()
    database = make_engine(get_settings().database_url(name)).url.database
    with ClusterRpcProxy(nameko_config, timeout=30) as proxy:
        reply = proxy[name].nap.call_async(20)

        def sleeping() -> int | None:
            # A connection of its own each time: a transaction sees pg_stat_activity as it was
            # when it first looked.
            with engine.connect() as conn:
                return conn.scalar(sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :db"
                    " AND query LIKE 'SELECT pg_sleep%'"), {"db": database})
        pid = wait_for(sleeping)
        with engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.pg_terminate_backend(pid)))
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            reply.result()
        assert time.monotonic() - started < 10
        assert proxy[name].nap(0) == "rested"
        assert proxy[name].ping() == {"service": name, "database": "ok"}


def test_a_reply_the_broker_cannot_take_leaves_the_service_serving(
        scratch, container_factory, nameko_config, monkeypatch):
    """The broker goes away while a service sends a reply: nameko's responder raises, which
    killed the whole container (the process lived on, serving nothing). The service logs it and
    keeps serving (the request, not acknowledged, returns to its queue with the dead channel)."""
    name, service_cls, engine = scratch
    container = container_factory(service_cls, nameko_config)
    container.start()
    real_send = nameko_rpc.Responder.send_response
    failures = []

    def send_once_lost(self, result, exc_info):
        if not failures:
            failures.append(True)
            raise kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED")
        return real_send(self, result, exc_info)

    monkeypatch.setattr(nameko_rpc.Responder, "send_response", send_once_lost)
    with ClusterRpcProxy(nameko_config, timeout=5) as proxy, pytest.raises(RpcTimeout):
        proxy[name].nap(0)  # its reply is lost (here the connection lives on, so no redelivery)
    with ClusterRpcProxy(nameko_config, timeout=30) as proxy:
        assert proxy[name].nap(0) == "rested"  # the container still serves
        assert proxy[name].ping() == {"service": name, "database": "ok"}
    assert failures == [True]
    assert not container._died.ready()
