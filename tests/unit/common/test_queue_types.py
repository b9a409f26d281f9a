"""Which queues are quorum queues, with what arguments, and the definitions file in the repo."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

from services.common import entrypoints
from services.common.topology import (
    CLASSIC,
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    DELIVERY_LIMIT,
    QUORUM,
    definitions,
    queue_type,
    service_classes,
    topology_queues,
)

ROOT = Path(__file__).resolve().parents[3]
ONE = "amqp://guest:guest@rabbit-1:5672/"
THREE = ";".join(f"amqp://guest:guest@rabbit-{n}:5672/" for n in (1, 2, 3))


@pytest.mark.parametrize(("uri", "configured", "expected"), [
    (ONE, "auto", CLASSIC), (THREE, "auto", QUORUM), (f"{ONE};{ONE}", "auto", CLASSIC),
    (ONE, "quorum", QUORUM), (THREE, "classic", CLASSIC), (THREE, " Quorum ", QUORUM)])
def test_queue_type_follows_the_number_of_brokers_unless_set(uri, configured, expected):
    assert queue_type(uri, configured) == expected


def test_an_unknown_queue_type_is_refused():
    with pytest.raises(ValueError, match="DESA_QUEUE_TYPE"):
        queue_type(ONE, "mirrored")


def test_on_quorum_every_queue_is_quorum_and_consumed_ones_dead_letter_after_a_limit():
    queues = topology_queues(QUORUM)
    names = [queue.name for queue in queues]
    assert DEAD_LETTER_QUEUE in names and len(names) == len(set(names))
    assert all(q.queue_arguments["x-queue-type"] == QUORUM for q in queues)
    consumed = [q for q in queues if q.name.startswith(("evt-", "rpc-"))]
    assert {f"rpc-{cls.name}" for cls in service_classes()} <= {q.name for q in consumed}
    for queue in consumed:
        assert queue.queue_arguments["x-delivery-limit"] == DELIVERY_LIMIT
        assert queue.queue_arguments["x-dead-letter-exchange"] == DEAD_LETTER_EXCHANGE


def test_on_classic_the_queues_keep_the_arguments_they_always_had():
    # A broker running since before quorum support must not see a declare with new arguments
    # (PRECONDITION_FAILED): consumer and RPC queues have none, journals only their bounds.
    for queue in topology_queues(CLASSIC):
        assert "x-queue-type" not in queue.queue_arguments
        if not queue.name.endswith(".journal"):
            assert queue.queue_arguments == {}
    assert DEAD_LETTER_QUEUE not in [q.name for q in topology_queues(CLASSIC)]


def test_every_service_uses_the_kernel_entrypoints():
    # nameko's own would declare quorum queues without x-queue-type, and the broker refuses.
    for cls in service_classes():
        for name in dir(cls):
            for entrypoint in getattr(getattr(cls, name), ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(entrypoint, Rpc):
                    assert isinstance(entrypoint, entrypoints.Rpc), f"{cls.name}.{name}"
                if isinstance(entrypoint, EventHandler):
                    assert isinstance(entrypoint, entrypoints.EventHandler), f"{cls.name}.{name}"


def test_the_definitions_file_in_the_repository_is_the_current_topology():
    # Regenerate: desa topology --definitions --queue-type quorum \
    #     > deploy/k8s/base/rabbitmq-definitions.json
    stored = json.loads((ROOT / "deploy/k8s/base/rabbitmq-definitions.json").read_text())
    assert stored == definitions(QUORUM)


def test_definitions_bind_every_queue_to_its_exchange():
    document = definitions(QUORUM, vhost="desa")
    exchanges = {e["name"] for e in document["exchanges"]}
    queues = {q["name"] for q in document["queues"]}
    assert {(b["source"], b["destination"]) for b in document["bindings"]} == {
        (q.exchange.name, q.name) for q in topology_queues(QUORUM)}
    assert {b["source"] for b in document["bindings"]} <= exchanges
    assert {b["destination"] for b in document["bindings"]} == queues
