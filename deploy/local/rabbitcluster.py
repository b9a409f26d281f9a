"""A RabbitMQ cluster of three nodes beside the system broker, from Debian's rabbitmq-server.

Each node is `NAME@localhost` with its own AMQP port (from its own config file: the system config
pins 5672, so `RABBITMQ_NODE_PORT` is not enough), Erlang distribution port, data and log
directories (owned by the `rabbitmq` user: the wrapper scripts switch to it). Nodes 2 and 3 join
node 1. Used by the fault tests (tests/faults) and by `make run-cluster`.

    python -m deploy.local.rabbitcluster up|down|status|uri [--dir DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# Somewhere the rabbitmq user can enter (the nodes run as that user), kept across runs.
DEFAULT_DIR = Path("/var/lib/rabbitmq/desa-cluster")
DEFAULT_PREFIX = "desa"
DEFAULT_AMQP_PORT = 5681  # nodes listen on 5681, 5682, 5683; Erlang distribution on 25681...
RABBITMQ_HOME = "/var/lib/rabbitmq"  # where the system node keeps the Erlang cookie


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Node:
    name: str  # full Erlang node name, e.g. desa1@localhost
    amqp_port: int
    dist_port: int
    base: Path

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    def env(self) -> dict[str, str]:
        return {**os.environ, "HOME": RABBITMQ_HOME,
                "RABBITMQ_NODENAME": self.name,
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.base / "log"),
                "RABBITMQ_PID_FILE": str(self.base / "node.pid"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
                "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config")}


def ctl(node: Node, *args: str, timeout: float = 120, check: bool = True) -> str:
    result = subprocess.run(["rabbitmqctl", "-q", "-n", node.name, *args], env=node.env(),
                            capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl -n {node.name} {' '.join(args)}: "
                           f"{result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


class RabbitCluster:
    """Three (or `size`) clustered nodes; `start()` forms the cluster, `stop()` removes it."""

    def __init__(self, base_dir: Path, prefix: str = DEFAULT_PREFIX, size: int = 3,
                 amqp_ports: list[int] | None = None, dist_ports: list[int] | None = None):
        self.base_dir = Path(base_dir).resolve()
        amqp_ports = amqp_ports or [free_port() for _ in range(size)]
        dist_ports = dist_ports or [free_port() for _ in range(size)]
        self.nodes = [Node(f"{prefix}{i + 1}@localhost", amqp_ports[i], dist_ports[i],
                           self.base_dir / f"{prefix}{i + 1}") for i in range(size)]

    @classmethod
    def load(cls, base_dir: Path) -> RabbitCluster:
        """The cluster a previous `start()` left in `base_dir` (its state file)."""
        state = json.loads((Path(base_dir) / "cluster.json").read_text())
        return cls(base_dir, state["prefix"], len(state["amqp_ports"]), state["amqp_ports"],
                   state["dist_ports"])

    def amqp_uri(self, vhost: str = "") -> str:
        """A kombu failover URI naming every node (of `vhost`, the default one if empty)."""
        return ";".join(node.url + vhost for node in self.nodes)

    def add_vhost(self, vhost: str) -> None:
        ctl(self.nodes[0], "add_vhost", vhost)
        ctl(self.nodes[0], "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    def delete_vhost(self, vhost: str) -> None:
        ctl(self.nodes[0], "delete_vhost", vhost, check=False)

    # -- one node -----------------------------------------------------------------------------
    def _prepare(self, node: Node) -> None:
        (node.base / "mnesia").mkdir(parents=True, exist_ok=True)
        (node.base / "log").mkdir(parents=True, exist_ok=True)
        (node.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{node.amqp_port}\n"
            "loopback_users.guest = true\n"
            # A node that comes back after being killed must not wait long for the others.
            "cluster_partition_handling = pause_minority\n")
        (node.base / "advanced.config").write_text("[].\n")
        (node.base / "enabled_plugins").write_text("[].\n")
        rabbitmq = pwd.getpwnam("rabbitmq")
        for path in [self.base_dir, *node.base.rglob("*"), node.base]:
            os.chown(path, rabbitmq.pw_uid, rabbitmq.pw_gid)

    def start_node(self, index: int) -> None:
        self.launch_node(index)
        self.await_node(index)

    def launch_node(self, index: int) -> None:
        node = self.nodes[index]
        self._prepare(node)
        subprocess.run(["rabbitmq-server", "-detached"], env=node.env(), check=True,
                       capture_output=True, timeout=60)

    def await_node(self, index: int) -> None:
        node = self.nodes[index]
        # `-detached` returns before the node registers with epmd, and await_startup fails on a
        # node it cannot reach yet: poll until it answers.
        deadline = time.monotonic() + 120
        while True:
            try:
                ctl(node, "await_startup", "--timeout", "120", timeout=150)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def kill_node(self, index: int) -> None:
        """SIGKILL the node's Erlang VM: no graceful handover, as when a machine dies."""
        node = self.nodes[index]
        pid = int((node.base / "node.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop_node(self, index: int) -> None:
        ctl(self.nodes[index], "stop", check=False, timeout=60)

    def running(self, index: int) -> bool:
        pid_file = self.nodes[index].base / "node.pid"
        if not pid_file.exists():
            return False
        text = pid_file.read_text().strip()
        return text.isdigit() and _alive(int(text))

    # -- the cluster --------------------------------------------------------------------------
    def start(self) -> RabbitCluster:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "cluster.json").write_text(json.dumps({
            "prefix": self.nodes[0].name.split("@")[0][:-1],
            "amqp_ports": [node.amqp_port for node in self.nodes],
            "dist_ports": [node.dist_port for node in self.nodes]}))
        first = self.nodes[0]
        stopped = [index for index in range(len(self.nodes)) if not self.running(index)]
        for index in stopped:  # in parallel: each node takes a while to boot
            self.launch_node(index)
        for index in stopped:
            self.await_node(index)
        for node in self.nodes[1:]:
            if first.name.split("@")[0] in ctl(node, "cluster_status", "--formatter", "json"):
                continue
            ctl(node, "stop_app")
            ctl(node, "join_cluster", first.name)
            ctl(node, "start_app")
            ctl(node, "await_startup", "--timeout", "120", timeout=150)
        return self

    def stop(self, remove: bool = True) -> None:
        for index in range(len(self.nodes)):
            if self.running(index):
                self.stop_node(index)
                if self.running(index):
                    self.kill_node(index)
        if remove:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def queues(self, vhost: str = "/", *fields: str) -> list[dict]:
        """`rabbitmqctl list_queues` of `vhost` (name, type, leader, members, messages, ... ),
        asked of the first running node."""
        for index, node in enumerate(self.nodes):
            if self.running(index):
                out = ctl(node, "list_queues", "-p", vhost,
                          *(fields or ("name", "type", "leader", "members", "messages")),
                          "--formatter", "json")
                return json.loads(out)
        raise RuntimeError("no node of the cluster is running")

    def queue_leader(self, queue: str, vhost: str = "/") -> str:
        """The node that leads quorum queue `queue`."""
        for row in self.queues(vhost, "name", "leader"):
            if row["name"] == queue:
                return row["leader"]
        raise LookupError(f"no queue {queue!r} in vhost {vhost!r}")

    def index_of(self, node_name: str) -> int:
        return [node.name for node in self.nodes].index(node_name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _default_cluster(base_dir: Path) -> RabbitCluster:
    ports = [DEFAULT_AMQP_PORT + i for i in range(3)]
    return RabbitCluster(base_dir, amqp_ports=ports, dist_ports=[20000 + p for p in ports])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.rabbitcluster")
    parser.add_argument("command", choices=("up", "down", "status", "uri"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    cluster = _default_cluster(args.dir)
    if args.command == "up":
        cluster.start()
        print(cluster.amqp_uri())
    elif args.command == "down":
        cluster.stop()
    elif args.command == "uri":
        print(cluster.amqp_uri())
    else:
        for index, node in enumerate(cluster.nodes):
            state = "running" if cluster.running(index) else "stopped"
            print(f"{node.name}  {node.url}  {state}")
        if not any(cluster.running(i) for i in range(len(cluster.nodes))):
            sys.exit(3)


if __name__ == "__main__":
    main()
