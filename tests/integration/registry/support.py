"""Helpers for the registry integration tests: fake people and row counting."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from services.common.outbox import Outbox
from services.common.service import unit_of_work
from tests.support.fakes import fake_nik

OFFICER = {"role": "officer", "village_code": None, "username": "test.officer", "nik": None}


def person(birth: date = date(1990, 8, 12), sex: str = "L", **overrides) -> dict:
    data = {"nik": fake_nik(birth, sex), "name": "Warga Contoh", "sex": sex,
            "birth_place": "Serang", "birth_date": birth.isoformat(), "religion": "Islam",
            "marital_status": "Kawin", "address": {"dusun": "Dusun I", "rw": "1", "rt": "2"}}
    data.update(overrides)
    return data


def in_unit_of_work(session, fn, *args):
    """Run a registry function that takes (session, outbox, ...) and commit it, as the CLI does."""
    with unit_of_work(session):
        return fn(session, Outbox("registry"), *args)


class Table:
    """Counts and reads rows, to prove what was (or was not) written."""

    def __init__(self, engine):
        self.engine = engine

    def count(self, table: str, where: str = "TRUE", **params) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE {where}"), params)

    def events(self, aggregate_id: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT envelope FROM outbox WHERE aggregate_id = :a ORDER BY id"),
                {"a": aggregate_id}).scalars().all()
        return list(rows)

    def snapshot(self) -> dict:
        return {name: self.count(name) for name in (
            "residents", "resident_changes", "families", "family_memberships", "life_events",
            "outbox", "accounts", "resident_credentials")}
