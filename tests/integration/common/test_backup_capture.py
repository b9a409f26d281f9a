"""Change capture covers every table of every service, and follows a village through foreign
keys; a restore's own writes are not captured."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.common.backup import capture
from services.common.backup.capture import Schema, uncovered
from services.common.config import get_settings
from services.common.db import make_engine
from services.common.topology import service_classes

pytestmark = pytest.mark.integration


def test_every_table_of_every_service_is_captured(migrated):
    """Introspects each service database: a table without the capture trigger fails this."""
    for cls in service_classes():
        engine = make_engine(get_settings().database_url(cls.name), poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                tables = set(sa.inspect(conn).get_table_names())
                assert uncovered(conn) == [], cls.name
                assert {t.name for t in Schema.load(conn)} == tables - capture.SKIPPED
                assert "backup_changes" in tables and "outbox" in tables
        finally:
            engine.dispose()


def test_capture_of_a_new_table_follows_the_village_through_foreign_keys(kernel_db):
    with kernel_db.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE farms (id int PRIMARY KEY, village_code varchar(13), name text);"
            "CREATE TABLE plots (id int PRIMARY KEY, farm_id int REFERENCES farms(id), "
            "area numeric, photo_key text, photo_sha256 text);"
            "CREATE TABLE settings (name text PRIMARY KEY, value jsonb)"))
    schema = capture.install(kernel_db)
    assert schema.tables["plots"].parent == ("farms", "farm_id", "id")
    assert schema.tables["plots"].documents == [("photo_key", "photo_sha256")]
    with kernel_db.begin() as conn:
        assert uncovered(conn) == []
        conn.execute(sa.text("INSERT INTO farms VALUES (1, '36.04.05.2001', 'Sawah'), "
                             "(2, NULL, 'Kabupaten')"))
        conn.execute(sa.text("INSERT INTO plots VALUES (10, 1, 1.5, NULL, NULL)"))
        conn.execute(sa.text("INSERT INTO settings VALUES ('x', '{\"a\": 1}')"))
        conn.execute(sa.text("UPDATE farms SET village_code = '36.04.14.2001' WHERE id = 1"))
        conn.execute(sa.text("DELETE FROM plots WHERE id = 10"))
    with kernel_db.begin() as conn:
        conn.execute(sa.text("SET LOCAL desa.backup_restore = 'on'"))
        conn.execute(sa.text("INSERT INTO farms VALUES (3, '36.04.05.2001', 'Restored')"))
    with kernel_db.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT tbl, op, village, coalesce(row->>'id', row->>'name') FROM backup_changes "
            "ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("farms", "U", "36.04.05.2001", "1"), ("farms", "U", "regency", "2"),
        ("plots", "U", "36.04.05.2001", "10"), ("settings", "U", "regency", "x"),
        # moved to another village: gone from the first, present in the second
        ("farms", "D", "36.04.05.2001", "1"), ("farms", "U", "36.04.14.2001", "1"),
        ("plots", "D", "36.04.14.2001", "10")]


def test_inserts_are_captured_once_per_row_by_the_statement_trigger(kernel_db):
    """Decision 0104: an INSERT statement's rows are captured from its transition table, in the
    order inserted; an upsert's updated rows by the row trigger; each row exactly once. A row
    trigger of before (which captured inserts itself) is named by `uncovered` and replaced by
    `install`, so nothing is captured twice."""
    with kernel_db.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE farms (id int PRIMARY KEY, village_code varchar(13), name text)"))
    schema = capture.install(kernel_db)
    with kernel_db.begin() as conn:
        conn.execute(sa.text("INSERT INTO farms SELECT g, '36.04.05.2001', 'f' || g "
                             "FROM generate_series(1, 500) g"))
        conn.execute(sa.text(
            "INSERT INTO farms VALUES (500, '36.04.05.2001', 'again'), (501, NULL, 'new') "
            "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name"))
        captured = conn.execute(sa.text(
            "SELECT (row->>'id')::int, op, village, row->>'name' FROM backup_changes "
            "ORDER BY id")).all()
    assert [r[0] for r in captured[:500]] == list(range(1, 501))
    assert sorted(tuple(r) for r in captured[500:]) == [
        (500, "U", "36.04.05.2001", "again"), (501, "U", "regency", "new")]
    assert len(captured) == 502

    # a row trigger of before decision 0104 also fired on INSERT: beside the statement trigger
    # it would capture every insert twice; in a database of before, the statement trigger is
    # missing too. Either way `uncovered` names the table and `install` puts it right.
    function, old_style = capture._row_trigger_sql(schema, "farms")
    old_style = old_style.replace("AFTER UPDATE OR DELETE", "AFTER INSERT OR UPDATE OR DELETE")
    for statement_trigger_too in (True, False):
        with kernel_db.begin() as conn:
            conn.exec_driver_sql(old_style)
            if not statement_trigger_too:
                conn.execute(sa.text(f"DROP TRIGGER {capture.INSERT_TRIGGER} ON farms"))
            assert uncovered(conn) == ["farms"]
        capture.install(kernel_db)
        with kernel_db.begin() as conn:
            assert uncovered(conn) == []
            conn.execute(sa.text("DELETE FROM backup_changes"))
            conn.execute(sa.text("INSERT INTO farms VALUES (600, '36.04.05.2001', 'once')"))
            assert conn.scalar(sa.text("SELECT count(*) FROM backup_changes")) == 1
            conn.execute(sa.text("DELETE FROM farms WHERE id = 600"))


def test_truncate_of_a_captured_table_is_refused_and_an_unguarded_table_is_named(kernel_db):
    """TRUNCATE fires no row trigger: it would empty a table behind the backup's back."""
    with kernel_db.begin() as conn:
        conn.execute(sa.text("CREATE TABLE farms (id int PRIMARY KEY, village_code varchar(13))"))
    capture.install(kernel_db)
    with kernel_db.begin() as conn:
        conn.execute(sa.text("INSERT INTO farms VALUES (1, '36.04.05.2001')"))
    with pytest.raises(sa.exc.NotSupportedError, match="TRUNCATE of farms is refused"), \
            kernel_db.begin() as conn:
        conn.execute(sa.text("TRUNCATE farms"))
    with kernel_db.begin() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM farms")) == 1
        conn.execute(sa.text("DELETE FROM farms"))  # the way to empty it: captured
        assert conn.scalar(sa.text(
            "SELECT count(*) FROM backup_changes WHERE tbl = 'farms' AND op = 'D'")) == 1
        conn.execute(sa.text(f"ALTER TABLE farms DISABLE TRIGGER {capture.TRUNCATE_GUARD}"))
        assert uncovered(conn) == ["farms"]


def test_sent_outbox_rows_are_pruned_only_once_old_and_in_the_backup_store(kernel_db):
    from datetime import timedelta

    from services.common.backup.shipper import prune_outbox

    capture.install(kernel_db)
    insert = sa.text(
        "INSERT INTO outbox (event_id, type, aggregate_id, envelope, sent_at) VALUES "
        "(gen_random_uuid(), 'x.y', :name, '{}', now() - make_interval(hours => :age)) "
        "RETURNING id")
    with kernel_db.begin() as conn:
        shipped_old = conn.scalar(insert, {"name": "shipped-old", "age": 30})
        shipped_recent = conn.scalar(insert, {"name": "shipped-recent", "age": 1})
        unsent = conn.scalar(sa.text(
            "INSERT INTO outbox (event_id, type, aggregate_id, envelope) VALUES "
            "(gen_random_uuid(), 'x.y', 'unsent', '{}') RETURNING id"))
        conn.execute(sa.text("DELETE FROM backup_changes"))  # what the shipper does once stored
        waiting_old = conn.scalar(insert, {"name": "waiting-old", "age": 30})  # not shipped yet

    assert prune_outbox(kernel_db, timedelta(hours=24)) == 1
    with kernel_db.connect() as conn:
        left = set(conn.scalars(sa.text("SELECT id FROM outbox")))
        pruned = conn.execute(sa.text(
            "SELECT op, row->>'id' FROM backup_changes WHERE row->>'id' <> :id"),
            {"id": str(waiting_old)}).all()
    assert left == {shipped_recent, unsent, waiting_old}
    assert [tuple(r) for r in pruned] == [("D", str(shipped_old))]  # the delete is captured
