"""A real PostgreSQL error logged as the inbox logs it (`repr(exc)` in an extra field) leaves no
whole NIK in the JSON line."""
from __future__ import annotations

import io
import json
import logging

import pytest
import sqlalchemy as sa

from services.common.logs import configure_logging
from tests.support.fakes import fake_person_nik


@pytest.fixture
def json_logs():
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("INFO", service="letters", stream=stream)
    yield stream
    root.handlers[:], root.level = saved, level


def test_a_unique_violation_quoting_a_nik_is_masked_in_every_field(kernel_db, json_logs):
    nik, _ = fake_person_nik()
    with kernel_db.connect() as conn:
        conn.execute(sa.text("CREATE TEMPORARY TABLE people (nik varchar(16) UNIQUE)"))
        conn.execute(sa.text("INSERT INTO people VALUES (:nik)"), {"nik": nik})
        with pytest.raises(sa.exc.IntegrityError) as caught:
            conn.execute(sa.text("INSERT INTO people VALUES (:nik)"), {"nik": nik})
    assert nik in str(caught.value.orig)  # PostgreSQL quotes it: Key (nik)=(...)
    logging.getLogger("services.common.inbox").warning("event handler failed", extra={
        "handler": "letters.on_resident_registered", "attempt": 1,
        "error": repr(caught.value.orig)})
    try:
        raise caught.value
    except sa.exc.IntegrityError:
        logging.getLogger("nameko.containers").exception("error handling worker")
    lines = [json.loads(line) for line in json_logs.getvalue().strip().splitlines()]
    assert len(lines) == 2 and nik not in json_logs.getvalue()
    masked = f"{nik[:4]}********{nik[-4:]}"
    assert f"Key (nik)=({masked})" in lines[0]["error"]
    assert f"Key (nik)=({masked})" in lines[1]["exc_info"]
