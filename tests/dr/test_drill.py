"""The restore drill (issue 8): build two villages in every service, back them up, lose every
database and the primary bucket, restore from the backup store alone, compare every row and every
document byte for byte; then the same to a point in time."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from services.common.config import get_settings
from tests.dr.conftest import VILLAGES
from tests.dr.support import builder, desa, differences, service_names

# The loaded CI machine: the world is built once, restores take minutes there.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def test_every_service_has_a_drill_builder_and_fills_every_table(world):
    """The drill covers every service in this checkout, and every one of its tables gets rows
    (a new table nobody fills would be a table the drill never proves restorable)."""
    for name in service_names():
        assert hasattr(builder(name), "build"), f"tests/dr/worlds/{name}.py missing"
    empty = []
    for name in service_names():
        with world.engine(name).connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                # idempotency_keys (every service's kernel) is a 24-hour cache of rpc replies,
                # not records: the builders call application functions directly, so it stays
                # empty here; it is backed up like any table all the same. Registry's
                # login_failures (lock-out counters that expire) and import_jobs (a CSV import's
                # progress and report; the residents it made are the records) are working state
                # of the same kind.
                if table in ("alembic_version", "backup_changes", "inbox", "dead_letters",
                             "idempotency_keys", "login_failures", "import_jobs"):
                    continue
                if not conn.scalar(sa.text(f'SELECT count(*) FROM "{table}"')):
                    empty.append(f"{name}.{table}")
    assert not empty, f"no drill data in {empty}: add it to tests/dr/worlds/"


def test_restore_everything_onto_empty_databases_and_bucket(world):
    desa("audit", "verify")  # seals the audit logs: their chains are backed up like any row
    world.ship()
    middle, middle_heads = world.dump(), world.outbox_heads()
    moment = datetime.now(UTC)
    time.sleep(0.3)
    world.build(VILLAGES[:1], 3)
    assert world.ship() > 0
    before = world.dump()
    heads = world.outbox_heads()
    assert any(key[0] == "document" for key in before)

    world.destroy()
    output = desa("restore", "--all")
    after = world.dump(outbox_upto=heads)
    problems = differences(before, after)
    assert problems == [], "\n".join(problems)
    assert "document(s) verified by SHA-256" in output
    assert "BROKEN" not in desa("audit", "verify", "--no-seal")  # chains restored whole
    # The registry announced its state again for the read models (through its outbox).
    with world.engine("registry").connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM outbox WHERE id > :h"),
                           {"h": heads["registry"]}) > 0

    world.destroy()
    desa("restore", "--all", "--at", moment.isoformat())
    problems = differences(middle, world.dump(outbox_upto=middle_heads))
    assert problems == [], "\n".join(problems)
    with world.engine("finance").connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM cash_entries")) > 0


def test_the_backup_store_is_separate_and_holds_no_key(world):
    settings = get_settings()
    assert settings.backup_s3_endpoint != settings.s3_endpoint
    secrets = [item.split(":", 1)[1].encode() for item in settings.backup_keys.split(",")]
    for item in list(world.store.list(""))[:200]:
        raw = world.store.get_raw(item.name)
        assert raw[:4] == b"DDB1" and all(secret not in raw for secret in secrets)
