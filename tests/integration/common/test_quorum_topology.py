"""With DESA_QUEUE_TYPE=quorum the topology step makes every durable queue a quorum queue, and
the services' own entrypoints declare the same queues with the same arguments, so a service
starts, answers RPC and applies events (a quorum queue runs on one node too: a cluster of one).
The cluster itself is proven in tests/faults."""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import kombu
import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.config import get_settings, reset_settings
from services.common.events import make_envelope
from services.common.tables import inbox
from services.common.topology import (
    QUORUM,
    declare_topology,
    definitions,
    event_exchange,
    topology_queues,
)
from services.letters.service import LettersService


def queue_types(vhost: str) -> dict[str, str]:
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "type",
                          "--no-table-headers"], check=True, capture_output=True, text=True,
                         timeout=60).stdout
    return dict(line.split("\t") for line in out.splitlines() if line.strip())


@pytest.fixture
def quorum(monkeypatch):
    monkeypatch.setenv("DESA_QUEUE_TYPE", "quorum")
    reset_settings()
    yield
    monkeypatch.delenv("DESA_QUEUE_TYPE")
    reset_settings()


def test_services_run_on_quorum_queues_declared_by_the_topology_step(
        migrated, fresh_vhost, quorum, container_factory, letters_engine):
    vhost = fresh_vhost.rsplit("/", 1)[1]
    declare_topology(fresh_vhost)
    types = queue_types(vhost)
    assert {queue.name: types.get(queue.name) for queue in topology_queues(QUORUM)} == {
        queue.name: QUORUM for queue in topology_queues(QUORUM)}

    # nameko's plain entrypoints would declare these queues without x-queue-type, which the
    # broker refuses (PRECONDITION_FAILED): the container would not start.
    config = {**get_settings().nameko_config(), "AMQP_URI": fresh_vhost}
    container = container_factory(LettersService, config)
    container.start()
    with ClusterRpcProxy(config, timeout=20) as proxy:
        assert proxy.letters.ping()["database"] == "ok"

    village = {"code": "99.99.99.9999", "name": "Quorum", "updated_at": "2000-01-01T00:00:00Z"}
    envelope = make_envelope(source="registry", type="village.updated", village_code=None,
                             aggregate_id=str(uuid.uuid4()), payload=village)
    with kombu.Connection(fresh_vhost) as conn:
        kombu.Producer(conn.channel()).publish(
            envelope, exchange=event_exchange("registry"), routing_key="village.updated",
            serializer="json", delivery_mode=2)
    deadline = time.monotonic() + 30
    with letters_engine.connect() as conn:
        while True:
            seen = conn.scalar(sa.select(sa.func.count()).select_from(inbox)
                               .where(inbox.c.event_id == envelope["event_id"]))
            if seen or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert seen == 1  # taken off its quorum queue and applied by the handler


def test_the_definitions_file_imports_into_rabbitmq(fresh_vhost):
    # What a deploy imports before any process starts: RabbitMQ itself must accept it.
    vhost = fresh_vhost.rsplit("/", 1)[1]
    folder = Path(tempfile.mkdtemp(prefix="desa-definitions-"))  # readable by the broker's user
    try:
        path = folder / "definitions.json"
        path.write_text(json.dumps(definitions(QUORUM, vhost)))
        folder.chmod(0o755)
        path.chmod(0o644)
        subprocess.run(["rabbitmqctl", "-q", "import_definitions", str(path)], check=True,
                       capture_output=True, timeout=60)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert queue_types(vhost) == {queue.name: QUORUM for queue in topology_queues(QUORUM)}
