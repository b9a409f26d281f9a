"""Two and three processes of one service share its work, and losing one loses nothing.

Extra processes of letters (an event consumer) and registry (RPC) are started beside the
platform's own, all pointed at the three-node cluster. The work spreads over them (each letters
process applies some of the events, each registry process answers some of the calls); one of
each is killed (SIGKILL) in the middle of the flow, and still every event is applied exactly
once and every resident registered.
"""
from __future__ import annotations

import json
import os
import signal

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from deploy.local.processes import service_command
from tests.faults.flow import MixedFlow, duplicates, events_applied_once, staff, until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]

VILLAGE = "36.04.05.2012"


def applied_by(platform, name: str) -> int:
    """How many events process `name` applied (its log has a line for each)."""
    path = platform.group.log_file(name)
    count = 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("message") == "event applied":
            count += 1
    return count


def answering_processes(platform, service: str, calls: int = 40) -> set[str]:
    with ClusterRpcProxy({"AMQP_URI": platform.env["DESA_AMQP_URI"]}, timeout=30) as proxy:
        return {getattr(proxy, service).process() for _ in range(calls)}


@pytest.fixture(scope="module")
def tokens(cluster_platform):
    return staff(cluster_platform, VILLAGE)


@pytest.mark.parametrize("processes", [2, 3])
def test_processes_of_a_service_share_its_work_and_one_dying_loses_nothing(
        cluster_platform, tokens, processes):
    platform = cluster_platform
    extra = {service: [f"{service}-{n}" for n in range(2, processes + 1)]
             for service in ("letters", "registry")}
    for service, names in extra.items():
        for name in names:
            platform.group.start(name, service_command(service))
    try:
        for service, names in extra.items():
            pids = {str(platform.group.pid(name)) for name in [service, *names]}
            until(lambda s=service, p=pids: {a.split(":")[1] for a in answering_processes(
                platform, s)} == p, 120, f"every {service} process answering calls")
        letters = ["letters", *extra["letters"]]
        before = {name: applied_by(platform, name) for name in letters}
        flow = MixedFlow(platform, first=300 * processes, payment_requests=[], tokens=tokens,
                         village=VILLAGE).start()
        try:
            flow.wait_rounds(6)
            shares = {name: applied_by(platform, name) - before[name] for name in letters}
            assert all(share > 0 for share in shares.values()), shares
            # One process of each dies mid-flow; the others take its work (and the messages it
            # held unacknowledged go back to the queue).
            for service in ("letters", "registry"):
                os.kill(platform.group.pid(extra[service][-1]), signal.SIGKILL)
            flow.wait_rounds(4)
        finally:
            out = flow.stop()
        assert out.other == [], out.other
        assert duplicates(out.residents) == []
        applied = events_applied_once(platform)
        assert applied["letters.on_resident_registered"] >= len(out.residents)
    finally:
        for names in extra.values():
            platform.group.stop_all(names)
