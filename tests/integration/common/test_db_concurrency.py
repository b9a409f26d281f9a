"""ARCHITECTURE rule 9: the services' PostgreSQL driver must not block the eventlet hub."""
from __future__ import annotations

import time

import eventlet
import sqlalchemy as sa

from services.common.db import make_engine
from tests.integration.common.conftest import KERNEL


def test_four_green_threads_sleep_in_postgres_concurrently(kernel_db, infra):
    engine = make_engine(infra.database_url(KERNEL))

    def sleep_in_db():
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_sleep(0.5)"))

    sleep_in_db()  # open the first connection outside the timing
    started = time.monotonic()
    pool = eventlet.GreenPool()
    for _ in range(4):
        pool.spawn(sleep_in_db)
    pool.waitall()
    elapsed = time.monotonic() - started
    engine.dispose()
    # Serialised, four sleeps take 2.0 s; cooperative ones overlap (0.5 s plus connection setup).
    assert elapsed < 1.5, f"the driver blocked the hub: 4 x 0.5 s took {elapsed:.2f} s"


def test_the_check_catches_a_blocking_driver(kernel_db, infra):
    """Without eventlet's wait callback psycopg2 blocks: the same measure must then serialise."""
    import psycopg2.extensions

    callback = psycopg2.extensions.get_wait_callback()
    psycopg2.extensions.set_wait_callback(None)
    try:
        engine = make_engine(infra.database_url(KERNEL))
        started = time.monotonic()
        pool = eventlet.GreenPool()
        for _ in range(4):
            pool.spawn(lambda: engine.connect().execute(sa.text("SELECT pg_sleep(0.25)")))
        pool.waitall()
        elapsed = time.monotonic() - started
        engine.dispose()
    finally:
        psycopg2.extensions.set_wait_callback(callback)
    assert elapsed >= 0.95


def test_database_errors_do_not_repeat_query_parameters(kernel_db, infra):
    engine = make_engine(infra.database_url(KERNEL))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT CAST(:nik AS text), 1 / 0"), {"nik": "3604054101909001"})
    except sa.exc.DBAPIError as exc:
        assert "3604054101909001" not in str(exc)
    else:
        raise AssertionError("the division should have failed")
    finally:
        engine.dispose()
