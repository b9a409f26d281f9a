"""The README, Compose and Kubernetes files name exactly the variables config.py reads."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
LAUNCHER_ONLY = {"DESA_SCALE_", "DESA_GATEWAY_BIND", "DESA_GATEWAY_WORKERS",
                 "DESA_GATEWAY_THREADS"}


def variables_in(text: str) -> set[str]:
    return set(re.findall(r"\b(DESA_[A-Z0-9_]+)", text))


def config_variables() -> set[str]:
    source = (ROOT / "services/common/config.py").read_text()
    return set(re.findall(r'_env(?:_bool)?\(\s*"(DESA_[A-Z0-9_]+)"', source))


def test_config_reads_the_variables_we_expect():
    assert {"DESA_AMQP_URI", "DESA_DATABASE_URL_TEMPLATE", "DESA_JWT_SECRET"} <= config_variables()


def test_readme_documents_every_variable():
    readme = (ROOT / "README.md").read_text()
    table = {line.split("`")[1] for line in readme.splitlines()
             if line.startswith("| `DESA_")}
    table = {name.replace("<SERVICE>", "") for name in table}
    assert config_variables() <= table
    assert table - config_variables() <= LAUNCHER_ONLY


def test_compose_and_kubernetes_set_every_variable_and_no_unknown_one():
    compose = (ROOT / "deploy/compose/docker-compose.yml").read_text()
    k8s = "".join((ROOT / "deploy/k8s/base" / name).read_text()
                  for name in ("config.yaml", "secret.env.example"))
    for text in (compose, k8s):
        assert variables_in(text) == config_variables()


def test_every_manifest_parses_and_kustomization_lists_them_all():
    folder = ROOT / "deploy/k8s/base"
    for path in [*folder.glob("*.yaml"), ROOT / "deploy/compose/docker-compose.yml"]:
        assert all(doc is not None for doc in yaml.safe_load_all(path.read_text())), path
    listed = set(yaml.safe_load((folder / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in folder.glob("*.yaml")} - {"kustomization.yaml"}


def test_kubernetes_runs_every_existing_service():
    from services.common.topology import service_classes

    docs = list(yaml.safe_load_all((ROOT / "deploy/k8s/base/services.yaml").read_text()))
    for cls in service_classes():
        mine = [doc for doc in docs if doc["metadata"]["name"] == cls.name]
        assert [doc["kind"] for doc in mine] == ["Deployment", "PodDisruptionBudget",
                                                 "ScaledObject"]
        container = mine[0]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", "services.common.runner", cls.name]
        assert mine[2]["spec"]["scaleTargetRef"]["name"] == cls.name


def test_kubernetes_services_are_rendered_from_the_template():
    from deploy.k8s.render import OUTPUT, render

    assert OUTPUT.read_text() == render(), "run: python -m deploy.k8s.render"


def test_compose_runs_every_existing_service():
    from services.common.topology import service_classes

    compose = yaml.safe_load((ROOT / "deploy/compose/docker-compose.yml").read_text())
    for cls in service_classes():
        command = compose["services"][cls.name]["command"]
        assert command == ["python", "-m", "services.common.runner", cls.name]


def _deployments() -> list[dict]:
    docs = []
    for path in (ROOT / "deploy/k8s/base").glob("*.yaml"):
        docs += [doc for doc in yaml.safe_load_all(path.read_text())
                 if doc and doc.get("kind") == "Deployment"]
    return docs


def test_every_kubernetes_pod_that_publishes_or_consumes_declares_the_topology_first():
    for deployment in _deployments():
        spec = deployment["spec"]["template"]["spec"]
        if deployment["metadata"]["name"] in ("gateway", "backup-ship"):  # RPC only; no AMQP
            continue
        commands = [init["command"] for init in spec.get("initContainers", [])]
        assert ["desa", "declare"] in commands, deployment["metadata"]["name"]


def test_compose_starts_every_platform_process_after_the_setup_completed():
    compose = yaml.safe_load((ROOT / "deploy/compose/docker-compose.yml").read_text())
    services = compose["services"]
    assert "desa declare" in " ".join(services["setup"]["command"])
    for name, service in services.items():
        if service.get("image", "").startswith("desa-digital") and name != "setup":
            condition = service["depends_on"]["setup"]["condition"]
            assert condition == "service_completed_successfully", name


def test_the_gateway_readiness_probe_is_readyz_not_the_status_page():
    """/readyz is the gateway and the broker; /statusz (every service) is for operators: a probe
    on it would take every gateway pod out of service when one service stops."""
    docs = yaml.safe_load_all((ROOT / "deploy/k8s/base/gateway.yaml").read_text())
    (deployment,) = [doc for doc in docs if doc and doc["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
