"""Finance against real PostgreSQL (and SeaweedFS for evidence), at the application level.

`finance` runs an application function in its own session inside the kernel's unit of work,
exactly as an entrypoint does: domain refusals arrive as the wire errors the gateway maps.
Budgets are for last year, so every date of that year is in the past and every month of it
has ended: the tests do not depend on today's date.
"""
from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.common.config import get_settings
from services.common.db import make_engine
from services.common.outbox import Outbox
from services.common.service import unit_of_work
from services.common.tables import outbox
from services.finance.app import budgets

OUTBOX = Outbox("finance")
YEAR = clock.local_today().year - 1
_villages = itertools.count(random.randint(0, 4000))


def day(month: int, dom: int = 15) -> str:
    return date(YEAR, month, dom).isoformat()


def new_village() -> str:
    """A Serang village code of district 36.04.06 no other test of this run uses."""
    return f"36.04.06.{2000 + next(_villages) % 8000:04d}"


def staff(role: str, village_code: str | None) -> dict:
    return {"role": role, "village_code": village_code, "username": f"{role}-test"}


class Finance:
    """Call `fn(session, *args)` in a unit of work, as a finance entrypoint would."""

    def __init__(self, engine):
        self.engine = engine

    def __call__(self, fn: Callable, *args, **kwargs):
        with Session(self.engine) as session, unit_of_work(session):
            return fn(session, *args, **kwargs)

    def events(self, village: str) -> list[str]:
        """The types of the events this village's changes wrote to the outbox, in order."""
        with self.engine.connect() as conn:
            return list(conn.scalars(sa.select(outbox.c.type).where(
                outbox.c.village_code == village).order_by(outbox.c.id)))

    def approved_budget(self, village: str, lines: dict[str, dict]) -> dict[str, str]:
        """A budget of YEAR with `lines` (name -> line input), approved; name -> line id."""
        officer, head = staff("officer", village), staff("head", village)
        self(budgets.create_budget, OUTBOX, village, {"year": YEAR}, village, officer)
        ids = {name: self(budgets.add_line, OUTBOX, village, YEAR, data, village, officer)["id"]
               for name, data in lines.items()}
        self(budgets.step, OUTBOX, village, YEAR, "approve", village, head)
        return ids


@pytest.fixture(scope="session")
def finance_engine(migrated):
    # Few kept connections (the machine's PostgreSQL is shared); the race test's extra ones close.
    engine = make_engine(get_settings().database_url("finance"), pool_size=2, max_overflow=8)
    yield engine
    engine.dispose()


@pytest.fixture
def finance(finance_engine) -> Finance:
    return Finance(finance_engine)


DANA_DESA = {"account_code": "4.2.1", "source": "DDS", "amount": 100_000_000,
             "description": "Dana Desa"}
ROAD = {"account_code": "5.3.5.01", "activity_code": "02.03.03", "source": "DDS",
        "amount": 60_000_000, "description": "Rabat beton"}
SUPPLIES = {"account_code": "5.2.1", "activity_code": "01.01.04", "source": "DDS",
            "amount": 10_000_000, "description": "ATK"}
