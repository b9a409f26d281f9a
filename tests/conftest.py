"""Fixtures shared by every test folder.

Services run under eventlet, so the test process is monkey patched too (before anything imports
socket, threading or psycopg2): nameko containers started by tests behave as in production.
"""
import os
import warnings

# The suite is a developer's machine: the gateway's refusal of the public development JWT
# secret (gateway/auth.py check_secrets) is tested on its own, with DESA_ENVIRONMENT=production.
os.environ.setdefault("DESA_ENVIRONMENT", "local")

# eventlet warns on import that it is in maintenance mode: known, recorded in docs/decisions.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import os  # noqa: E402

import eventlet  # noqa: E402

# tests/browser drives Chromium through Playwright, whose asyncio loop hangs under these patches:
# that session alone runs without them (see tests/browser/conftest.py).
if os.environ.get("DESA_TESTS_WITHOUT_EVENTLET") != "1":
    eventlet.monkey_patch()

# nameko's fixtures import these lazily; an import that parses source after greenlets have run
# trips CPython 3.11's "AST constructor recursion depth mismatch", so import them up front.
import kombu.mixins  # noqa: E402, F401
import nameko.containers  # noqa: E402, F401
import nameko.runners  # noqa: E402, F401
import nameko.standalone.rpc  # noqa: E402, F401
import pytest  # noqa: E402

from services.common import migrations  # noqa: E402
from services.common.config import get_settings, reset_settings  # noqa: E402
from services.common.db import make_engine  # noqa: E402
from services.common.topology import declare_topology, service_classes  # noqa: E402
from tests.support.infrastructure import RAISED_LOGIN_LIMITS, Infrastructure  # noqa: E402


@pytest.fixture(scope="session")
def infra():
    """Real PostgreSQL databases, RabbitMQ vhost and SeaweedFS bucket for this run only."""
    infrastructure = Infrastructure().start()
    yield infrastructure
    infrastructure.stop()


@pytest.fixture(scope="session")
def migrated(infra):
    """Every service database created and migrated; the RabbitMQ topology declared."""
    for cls in service_classes():
        migrations.upgrade(cls.name)
    declare_topology()
    return infra


def _service_engine(service: str):
    return make_engine(get_settings().database_url(service), pool_size=5)


@pytest.fixture(scope="session")
def registry_engine(migrated):
    """This run's registry database, with the 326 villages seeded (every area needs them)."""
    from sqlalchemy.orm import Session

    from services.common.outbox import Outbox
    from services.common.service import unit_of_work
    from services.registry.seed import seed_villages

    engine = _service_engine("registry")
    with Session(engine) as session, unit_of_work(session):
        seed_villages(session, Outbox("registry"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def letters_engine(migrated):
    """This run's letters database."""
    engine = _service_engine("letters")
    yield engine
    engine.dispose()


@pytest.fixture
def nameko_config(migrated) -> dict:
    """nameko config pointing at this run's vhost (use with nameko's `container_factory`)."""
    return get_settings().nameko_config()


@pytest.fixture
def production_lockout(registry_engine):
    """The login lock-out with its production limits (the suite runs with raised ones).

    Counters are cleared before and after, so no lock outlives the test that caused it.
    """
    import sqlalchemy as sa

    def clear() -> None:
        with registry_engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM login_failures"))

    saved = {name: os.environ.pop(name, None) for name in RAISED_LOGIN_LIMITS}
    reset_settings()
    clear()
    try:
        yield get_settings()
    finally:
        clear()
        os.environ.update({name: value for name, value in saved.items() if value is not None})
        reset_settings()
