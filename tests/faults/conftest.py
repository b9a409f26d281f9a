"""The platform on a real three-node RabbitMQ cluster, for the fault tests (`make test-faults`).

`cluster`: three RabbitMQ nodes beside the system broker (deploy/local/rabbitcluster.py), started
once per session; set DESA_TEST_CLUSTER_DIR to reuse a cluster `python -m
deploy.local.rabbitcluster up --dir DIR` left running. `cluster_platform`: every service, the
relay and the gateway as processes pointed at all three nodes (a kombu failover URI), with their
own databases, vhost and bucket, as in tests/e2e.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

from deploy.local.rabbitcluster import RabbitCluster
from tests.support.platform import Platform, running_platform

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
    prefix = f"f{uuid.uuid4().hex[:8]}"
    with running_platform(tmp_path_factory.mktemp("cluster-platform"), prefix,
                          amqp_uri=cluster.amqp_uri, add_vhost=cluster.add_vhost,
                          delete_vhost=cluster.delete_vhost,
                          extra_env={"DESA_QUEUE_TYPE": "auto"},
                          platform_cls=ClusterPlatform) as platform:
        platform.cluster, platform.vhost = cluster, f"desa_{prefix}"
        yield platform
