"""Fixtures shared by every test folder."""
from __future__ import annotations

import pytest

from services.common import migrations
from services.common.config import get_settings
from services.common.topology import declare_topology, service_classes
from tests.support.infrastructure import Infrastructure


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


@pytest.fixture
def nameko_config(migrated) -> dict:
    """nameko config pointing at this run's vhost (use with nameko's `container_factory`)."""
    return get_settings().nameko_config()
