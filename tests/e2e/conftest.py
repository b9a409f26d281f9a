"""The whole platform as real processes for HTTP end-to-end tests: the `platform` fixture.

Started by tests/support/platform.py on the system RabbitMQ (a vhost of its own); the run fails at
teardown if any process logged a whole NIK or KK.
"""
from __future__ import annotations

import uuid

import pytest

from tests.support.infrastructure import rabbitmqctl
from tests.support.personal_data import personal_numbers_in_logs
from tests.support.platform import ROOT, Platform, running_platform

__all__ = ["ROOT", "Platform", "platform"]


def _add_vhost(vhost: str) -> None:
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")


@pytest.fixture(scope="package")
def platform(infra, tmp_path_factory) -> Platform:
    """Started once for tests/e2e and stopped when its last test has run."""
    workdir = tmp_path_factory.mktemp("platform")
    with running_platform(workdir, f"e{uuid.uuid4().hex[:8]}",
                          amqp_uri=lambda vhost: f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
                          add_vhost=_add_vhost,
                          delete_vhost=lambda vhost: rabbitmqctl("delete_vhost", vhost)
                          ) as running:
        yield running
    # Every process has stopped (its log flushed) when the block ends.
    leaked = personal_numbers_in_logs(running.group.log_dir)
    if leaked:
        pytest.fail("whole NIK/KK numbers in the platform's logs (mask them):\n"
                    + "\n".join(leaked[:20]))
