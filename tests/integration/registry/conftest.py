"""Fixtures for the registry service against real PostgreSQL and RabbitMQ."""
from __future__ import annotations

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy.orm import Session

from services.registry.service import RegistryService
from tests.integration.registry.support import Table


@pytest.fixture
def db(registry_engine):
    with Session(registry_engine, expire_on_commit=False) as session:
        yield session


class Calls:
    """`calls.register_resident(...)` runs that entrypoint in the container (no broker hop)."""

    def __init__(self, container):
        self.container = container

    def __getattr__(self, method):
        def call(*args, **kwargs):
            with entrypoint_hook(self.container, method) as hook:
                return hook(*args, **kwargs)
        return call


@pytest.fixture
def registry(container_factory, nameko_config, registry_engine):
    container = container_factory(RegistryService, nameko_config)
    container.start()
    return Calls(container)


@pytest.fixture
def rows(registry_engine) -> Table:
    return Table(registry_engine)
