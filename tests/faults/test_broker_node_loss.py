"""The broker loses a node in the middle of work, and nothing is lost or done twice.

A mixed flow (residents, letters, payments) runs through the gateway against services pointed at
all three nodes of a RabbitMQ cluster; the node that leads the event queues is killed (SIGKILL:
no graceful handover) while it runs, then started again. Every event is applied exactly once by
its consumer, RPCs go on through the other nodes, and no process (gateway included) restarts.
"""
from __future__ import annotations

import time

import pytest
import requests
import sqlalchemy as sa

from services.common.topology import (
    DEAD_LETTER_QUEUE,
    QUORUM,
    Subscription,
    rpc_queue,
    topology_queues,
)
from tests.faults.flow import (
    VILLAGE,
    MixedFlow,
    duplicates,
    engine_of,
    events_applied_once,
    payment_requests,
    staff,
    until,
)

pytestmark = [pytest.mark.faults, pytest.mark.timeout(1500)]

PAYMENTS = 12
RESIDENT_EVENTS = Subscription("registry", "resident.registered", "letters",
                               "on_resident_registered").queue_name


def quorum_members(platform) -> dict[str, tuple[str, int, int]]:
    rows = platform.cluster.queues(platform.vhost, "name", "type", "members", "online",
                                   "messages")
    return {row["name"]: (row["type"], len(row["members"]), len(row["online"]))
            for row in rows}


def test_a_node_killed_mid_flow_loses_nothing_and_doubles_nothing(cluster_platform):
    platform, cluster = cluster_platform, cluster_platform.cluster
    # Every durable queue of the topology is a quorum queue on all three nodes.
    queues = quorum_members(platform)
    for queue in topology_queues(QUORUM):
        assert queues[queue.name] == (QUORUM, 3, 3), queue.name

    tokens = staff(platform, VILLAGE)
    flow = MixedFlow(platform, first=0, payment_requests=payment_requests(
        platform, tokens, PAYMENTS), tokens=tokens).start()
    pids = {name: platform.group.pid(name) for name in platform.group.names()}
    try:
        flow.wait_rounds(3)
        leader = cluster.queue_leader(RESIDENT_EVENTS, platform.vhost)
        victim = cluster.index_of(leader)
        cluster.kill_node(victim)
        killed_at = time.monotonic()
        # Work goes on without that node: a new leader is elected, consumers, the relay and
        # the gateway reconnect to the other nodes by themselves.
        flow.wait_rounds(4)
        recovered_in = time.monotonic() - killed_at
        assert cluster.queue_leader(RESIDENT_EVENTS, platform.vhost) != leader
        assert cluster.queue_leader(rpc_queue("registry").name, platform.vhost) != leader
        until(lambda: requests.get(f"{platform.url}/readyz", timeout=10).status_code == 200,
              60, "/readyz with a node down")
        cluster.start_node(victim)
        until(lambda: all(online == 3 for kind, _, online in quorum_members(platform).values()
                          if kind == QUORUM), 120, "every quorum queue back on three nodes")
        flow.wait_rounds(2)
    finally:
        out = flow.stop()

    assert out.other == [], out.other
    # No process restarted: the same pids before and after, all still running.
    assert {name: platform.group.pid(name) for name in pids} == pids
    assert out.unavailable < 200, f"{out.unavailable} unavailable answers (recovered in " \
                                  f"{recovered_in:.0f}s)"

    # Events: each one applied exactly once by each consumer (none lost, none twice), none
    # parked by a consumer, none dead-lettered by the broker.
    applied = events_applied_once(platform)
    assert applied["letters.on_resident_registered"] == len(out.residents)
    assert duplicates(out.residents) == []
    assert quorum_members(platform)[DEAD_LETTER_QUEUE][0] == QUORUM
    [dead] = [row["messages"] for row in cluster.queues(platform.vhost, "name", "messages")
              if row["name"] == DEAD_LETTER_QUEUE]
    assert dead == 0

    # Letters: one per subject at most (an answer lost in the kill is not asked again), and
    # every one answered 201 is there.
    with engine_of(platform, "letters").connect() as conn:
        per_subject = dict(conn.execute(sa.text(
            "SELECT subject_nik, count(*) FROM letters GROUP BY subject_nik")).all())
    assert max(per_subject.values()) == 1
    assert all(per_subject.get(nik) == 1 for nik in out.letters)
    assert set(out.residents[-2:]) <= set(out.letters)  # after the node came back

    # Payments: every request the flow paid is paid, with exactly one cash entry each.
    assert len(out.paid) == min(PAYMENTS, flow.rounds) and duplicates(out.paid) == []
    with engine_of(platform, "finance").connect() as conn:
        entries = dict(conn.execute(sa.text(
            "SELECT payment_request_id::text, count(*) FROM cash_entries"
            " WHERE payment_request_id IS NOT NULL AND kind = 'payment'"
            " GROUP BY payment_request_id")).all())
    assert entries == {request_id: 1 for request_id in out.paid}
