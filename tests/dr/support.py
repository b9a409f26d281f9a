"""The drill's world: its own databases, documents bucket and backup store, and the helpers that
fill, ship, dump, destroy and restore it.

Builders live in tests/dr/worlds/<service>.py (`build(world, village, round)`); the drill finds
them by the service names in SERVICES, so a new service brings its builder as a new file and the
drill itself is not edited.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import os
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from cli.main import cli
from services.common import migrations
from services.common.backup.capture import SKIPPED, Schema, copy_expert, q
from services.common.backup.shipper import Shipper
from services.common.backup.store import BackupStore
from services.common.config import get_settings, reset_settings
from services.common.db import drop_database, make_engine
from services.common.objectstore import documents_store
from services.common.service import unit_of_work
from services.common.topology import service_classes
from services.letters import tokens


def service_names() -> list[str]:
    return [cls.name for cls in service_classes()]


def builder(service: str):
    return importlib.import_module(f"tests.dr.worlds.{service}")


class World:
    """One set of service databases and buckets (created by migration), with handles on them."""

    def __init__(self) -> None:
        for name in service_names():
            migrations.upgrade(name)
        self.documents = documents_store()
        self.documents.ensure_bucket()
        self.store = BackupStore.from_settings()
        self.store.ensure_bucket()
        self.signing_key = tokens.load_signing_key(get_settings().letter_signing_key)
        self.notes: dict = {}
        self._engines: dict[str, sa.Engine] = {}

    def engine(self, service: str) -> sa.Engine:
        if service not in self._engines:
            self._engines[service] = make_engine(get_settings().database_url(service),
                                                 pool_size=2, max_overflow=4)
        return self._engines[service]

    def do(self, service: str, fn: Callable, *args, **kwargs):
        with Session(self.engine(service), expire_on_commit=False) as session, \
                unit_of_work(session):
            return fn(session, *args, **kwargs)

    def build(self, villages: list[str], round_: int) -> None:
        for name in service_names():
            for village in villages:
                builder(name).build(self, village, round_)

    def ship(self) -> int:
        """Ship every service's captured changes until none is left."""
        total = 0
        for name in service_names():
            shipper = Shipper(name, engine=self.engine(name), store=self.store,
                              documents=self.documents)
            try:
                while shipped := shipper.ship_once():
                    total += shipped
            finally:
                shipper.pool.shutdown()
        return total

    def dump(self, village: str | None = None, outbox_upto: dict | None = None) -> dict:
        """Every row of every table (COPY text, in primary-key order) and every document's
        bytes; only one village's rows and documents with `village`."""
        state = {}
        for name in service_names():
            engine = self.engine(name)
            schema = Schema.load(engine)
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                for info in schema:
                    where = [] if village is None else [
                        cursor.mogrify(schema.scope_filter(info.name), {"scope": village})
                        .decode()]
                    if info.name == "outbox" and outbox_upto is not None:
                        where.append(f"t.id <= {int(outbox_upto.get(name, 0))}")
                    clause = f" WHERE {' AND '.join(where)}" if where else ""
                    order = ", ".join(f"t.{q(c)}" for c in info.pk)
                    buffer = io.BytesIO()
                    copy_expert(cursor, f"COPY (SELECT t.* FROM {q(info.name)} t{clause} "
                                f"ORDER BY {order}) TO STDOUT", buffer)
                    state[name, info.name] = buffer.getvalue()
                raw.rollback()
            finally:
                raw.close()
        prefix = "" if village is None else f"{village}/"
        for obj in self.documents.client.list_objects(self.documents.bucket, prefix=prefix,
                                                      recursive=True):
            state["document", obj.object_name] = self.documents.get_bytes(obj.object_name)
        return state

    def outbox_heads(self) -> dict[str, int]:
        heads = {}
        for name in service_names():
            with self.engine(name).connect() as conn:
                heads[name] = conn.scalar(sa.text("SELECT coalesce(max(id), 0) FROM outbox"))
        return heads

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()

    def destroy(self) -> None:
        """Lose every service database and the whole primary documents bucket."""
        self.close()
        for name in service_names():
            drop_database(get_settings().database_url(name))
        client, bucket = self.documents.client, self.documents.bucket
        for obj in client.list_objects(bucket, recursive=True):
            client.remove_object(bucket, obj.object_name)
        client.remove_bucket(bucket)


def desa(*args: str) -> str:
    """Run a `desa` command in this process; fail with its output if it fails."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def desa_result(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def differences(before: dict, after: dict) -> list[str]:
    """What differs between two dumps, named (empty when equal)."""
    problems = []
    for key in sorted(set(before) | set(after), key=str):
        if key[0] == "document" and key not in after:
            problems.append(f"document {key[1]} missing")
        elif key not in before:
            problems.append(f"{key} appeared")
        elif key not in after:
            problems.append(f"{key} missing")
        elif before[key] != after[key]:
            old, new = before[key].split(b"\n"), after[key].split(b"\n")
            pairs = enumerate(zip(old, new, strict=False))
            first = next((i for i, (a, b) in pairs if a != b), min(len(old), len(new)))
            problems.append(f"{key} differs ({len(old)} vs {len(new)} lines) at line "
                            f"{first}: {old[first:first + 1]!r} vs {new[first:first + 1]!r}"[:600])
    return problems


@contextlib.contextmanager
def own_environment(backup_env: dict):
    """This drill's own databases, documents bucket and backup bucket for the block."""
    prefix = f"dr{uuid.uuid4().hex[:8]}"
    saved = {k: os.environ.get(k) for k in
             ("DESA_DATABASE_URL_TEMPLATE", "DESA_DOCUMENTS_BUCKET", *backup_env)}
    os.environ.update(backup_env)
    os.environ["DESA_DATABASE_URL_TEMPLATE"] = \
        f"postgresql+psycopg2://postgres@127.0.0.1:5432/desa_{prefix}_{{service}}"
    os.environ["DESA_DOCUMENTS_BUCKET"] = f"desa-{prefix}-documents"
    os.environ["DESA_BACKUP_BUCKET"] = f"desa-{prefix}-backup"
    reset_settings()
    try:
        yield prefix
    finally:
        for name in service_names():
            with contextlib.suppress(Exception):
                drop_database(get_settings().database_url(name))
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()


__all__ = ["SKIPPED", "World", "desa", "differences", "own_environment"]
