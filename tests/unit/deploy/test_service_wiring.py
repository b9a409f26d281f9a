"""Every service package is wired in everywhere a process is started or a queue declared.

A service package is a folder of services/ with a service.py (common/ is the kernel). The
topology, the runner, `desa migrate` and readiness all take the services from config.SERVICES;
compose and Kubernetes name them one by one.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.common.config import SERVICES

ROOT = Path(__file__).resolve().parents[3]
RUNNER = ["python", "-m", "services.common.runner"]


def service_packages() -> list[str]:
    return sorted(path.parent.name for path in (ROOT / "services").glob("*/service.py")
                  if path.parent.name != "common")


def test_there_are_service_packages():
    assert {"registry", "letters"} <= set(service_packages())


@pytest.mark.parametrize("name", service_packages())
def test_topology_and_runner_know_the_service(name):
    from services.common.topology import service_classes

    assert name in SERVICES
    assert name in [cls.name for cls in service_classes()]


@pytest.mark.parametrize("name", service_packages())
def test_compose_runs_the_service(name):
    compose = yaml.safe_load((ROOT / "deploy/compose/docker-compose.yml").read_text())
    assert compose["services"].get(name, {}).get("command") == [*RUNNER, name]


@pytest.mark.parametrize("name", service_packages())
def test_kubernetes_base_runs_the_service(name):
    folder = ROOT / "deploy/k8s/base"
    resources = yaml.safe_load((folder / "kustomization.yaml").read_text())["resources"]
    commands = [doc["spec"]["template"]["spec"]["containers"][0]["command"]
                for resource in resources
                for doc in yaml.safe_load_all((folder / resource).read_text())
                if doc and doc["kind"] == "Deployment"]
    assert [*RUNNER, name] in commands
