"""Potential against real PostgreSQL and SeaweedFS, at the application level.

`potential` runs an application function in its own session inside the kernel's unit of work,
exactly as an entrypoint does: refusals arrive as the wire errors the gateway maps. Residents
reach the read model through the same function the registry event handlers call.
"""
from __future__ import annotations

import io
import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import Session

from services.common.config import get_settings
from services.common.db import make_engine
from services.common.objectstore import documents_store
from services.common.outbox import Outbox
from services.common.service import unit_of_work
from services.common.tables import outbox
from services.potential.app import followups
from tests.support.fakes import fake_person_nik

OUTBOX = Outbox("potential")
_villages = itertools.count(random.randint(0, 4000))


def new_village() -> str:
    """A village code of district 36.04.11 no other test of this run uses."""
    return f"36.04.11.{2000 + next(_villages) % 8000:04d}"


def staff(role: str, village_code: str | None) -> dict:
    return {"role": role, "village_code": village_code, "username": f"{role}-test"}


def resident(village_code: str, status: str = "alive", **overrides) -> dict:
    nik, _ = fake_person_nik("P", district="360411")
    return {"nik": nik, "name": "Siti Contoh", "village_code": village_code, "status": status,
            "updated_at": datetime.now(UTC).isoformat(), **overrides}


def jpeg(size: tuple[int, int] = (800, 600), colour: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def business_data(owner_nik: str, **overrides) -> dict:
    data = {"owner_nik": owner_nik, "name": "Keripik Emping Bu Siti", "nib": "1234567890123",
            "kbli": "10794", "sector": "kuliner", "products": [{"name": "Emping melinjo",
                                                               "price": 25000}],
            "workers": 3, "capital": 50_000_000, "yearly_sales": 300_000_000,
            "address": {"dusun": "Krajan", "rw": "2", "rt": "1"}, "latitude": -6.12,
            "longitude": 106.25, "certifications": ["halal", "pirt"], "status": "active"}
    data.update(overrides)
    return data


class Potential:
    """Call `fn(session, *args)` in a unit of work, as a potential entrypoint would."""

    def __init__(self, engine, store):
        self.engine = engine
        self.store = store

    def __call__(self, fn: Callable, *args, **kwargs):
        with Session(self.engine) as session, unit_of_work(session):
            return fn(session, *args, **kwargs)

    def resident(self, village_code: str, **overrides) -> dict:
        data = resident(village_code, **overrides)
        self(followups.apply_resident, data)
        return data

    def events(self, village: str) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.scalars(sa.select(outbox.c.type).where(
                outbox.c.village_code == village).order_by(outbox.c.id)))

    def payloads(self, village: str, event_type: str) -> list[dict]:
        with self.engine.connect() as conn:
            return [env["payload"] for env in conn.scalars(sa.select(outbox.c.envelope).where(
                outbox.c.village_code == village, outbox.c.type == event_type)
                .order_by(outbox.c.id))]

    def count(self, table: str, **where) -> int:
        clause = " AND ".join(f"{k} = :{k}" for k in where) or "TRUE"
        with self.engine.connect() as conn:
            return conn.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE {clause}"), where)


@pytest.fixture(scope="session")
def potential_engine(migrated):
    engine = make_engine(get_settings().database_url("potential"), pool_size=2,
                         max_overflow=4)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def potential_store(migrated):
    store = documents_store()
    store.ensure_bucket()
    return store


@pytest.fixture
def potential(potential_engine, potential_store) -> Potential:
    return Potential(potential_engine, potential_store)
