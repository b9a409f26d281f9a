"""The Compose file is valid Compose (against the compose-spec schema) and describes the whole
platform: a three-node broker cluster, two object stores, every service replicated and checked."""
from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from services.common.topology import QUORUM, queue_type, service_classes

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "deploy/compose/docker-compose.yml"


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def validate(doc: dict) -> None:
    schema = json.loads((ROOT / "deploy/compose/schema/compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(doc)


def test_the_compose_file_follows_the_compose_specification():
    validate(compose())


def test_the_validation_catches_a_misspelt_key():
    doc = compose()
    doc["services"]["registry"]["healtcheck"] = doc["services"]["registry"].pop("healthcheck")
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_env_example_lists_every_variable_the_file_reads():
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    listed = {line.split("=", 1)[0] for line in
              (ROOT / "deploy/compose/.env.example").read_text().splitlines()
              if line and not line.startswith("#")}
    assert used == listed


def test_the_broker_is_a_three_node_cluster_the_platform_uses_with_quorum_queues():
    doc = compose()
    nodes = [name for name in doc["services"] if name.startswith("rabbitmq-")]
    assert len(nodes) == 3
    uri = doc["x-desa-env"]["DESA_AMQP_URI"]
    assert all(f"@{node}:5672/" in uri for node in nodes)
    assert queue_type(uri, "auto") == QUORUM
    assert "classic_config.nodes.3" in doc["configs"]["rabbitmq-conf"]["content"]


def test_every_service_is_replicated_and_health_checked_and_two_object_stores_run():
    services = compose()["services"]
    for cls in service_classes():
        assert services[cls.name]["deploy"]["replicas"] >= 2
        assert "/healthz" in " ".join(services[cls.name]["healthcheck"]["test"])
    assert {"relay", "gateway", "minio", "minio-backup", "postgres", "setup"} <= set(services)
    assert "mc version enable" in " ".join(services["buckets"]["entrypoint"])
