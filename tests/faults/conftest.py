"""The platform on a real three-node RabbitMQ cluster, for the fault tests (`make test-faults`).

`cluster`: three RabbitMQ nodes beside the system broker (deploy/local/rabbitcluster.py), started
once per session; set DESA_TEST_CLUSTER_DIR to reuse a cluster `python -m
deploy.local.rabbitcluster up --dir DIR` left running. `cluster_platform`: every service, the
relay and the gateway as processes pointed at all three nodes (a kombu failover URI), with their
own databases, vhost and bucket, as in tests/e2e.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path

import pytest

from deploy.local.processes import (
    ProcessGroup,
    gateway_command,
    gateway_url,
    relay_command,
    service_command,
)
from deploy.local.rabbitcluster import RabbitCluster
from deploy.local.seaweed import free_port
from services.common.config import SERVICES
from services.common.db import drop_database
from services.common.topology import service_classes
from tests.e2e.conftest import ROOT, Platform, isolated_env

pytestmark = pytest.mark.faults


@pytest.fixture(scope="session")
def cluster():
    reuse = os.environ.get("DESA_TEST_CLUSTER_DIR")
    if reuse:
        yield RabbitCluster.load(Path(reuse)).start()
        return
    # Not under pytest's tmp_path: the nodes run as the rabbitmq user, who cannot enter it.
    base = Path(tempfile.mkdtemp(prefix="desa-cluster-"))
    cluster = RabbitCluster(base, prefix=f"dt{uuid.uuid4().hex[:6]}n")
    try:
        cluster.start()
    except Exception:
        cluster.stop()
        raise
    yield cluster
    cluster.stop()


class ClusterPlatform(Platform):
    cluster: RabbitCluster
    vhost: str


@pytest.fixture(scope="package")
def cluster_platform(infra, cluster, tmp_path_factory) -> ClusterPlatform:
    workdir = tmp_path_factory.mktemp("cluster-platform")
    prefix = f"f{uuid.uuid4().hex[:8]}"
    vhost = f"desa_{prefix}"
    bind = f"127.0.0.1:{free_port()}"
    cluster.add_vhost(vhost)
    env = {**isolated_env(prefix, bind), "DESA_AMQP_URI": cluster.amqp_uri(vhost),
           "DESA_QUEUE_TYPE": "auto"}
    group = ProcessGroup(workdir / "run", workdir / "log", env=env, cwd=ROOT)
    services = [cls.name for cls in service_classes()]
    platform = ClusterPlatform(url=gateway_url(bind), env=env, group=group, services=services)
    platform.cluster, platform.vhost = cluster, vhost

    def tear_down() -> None:
        group.stop_all()
        template = env["DESA_DATABASE_URL_TEMPLATE"]
        for name in SERVICES:
            with contextlib.suppress(Exception):  # best effort, like the infra fixture
                drop_database(template.format(service=name))
        with contextlib.suppress(Exception):
            cluster.delete_vhost(vhost)

    try:
        for step in (["migrate"], ["declare"], ["buckets"]):
            platform.desa(*step)
        for name in services:
            group.start(name, service_command(name))
        group.start("relay", relay_command())
        group.start("gateway", gateway_command(bind, workers=2, threads=4))
        platform.wait_ready()
        platform.desa("seed", "villages")
    except Exception as exc:
        logs = platform.logs()
        tear_down()
        pytest.fail(f"the platform did not start on the cluster: {exc}\n{logs}")
    yield platform
    tear_down()
