"""A private RabbitMQ node for tests that must change broker-wide settings or stop the broker.

RabbitMQ 3.10 has no per-queue consumer timeout, and the system broker is shared (other tests use
it), so a test of what the consumer timeout does, or of a broker restart, starts its own node: its
own name, ports and directories (owned by the `rabbitmq` user, as the server's wrapper switches to
it), removed when it stops. `halt()` and `start()` again restart it on the same ports and data.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateBroker:
    """`PrivateBroker(consumer_timeout_ms=2000).start()`; `.amqp_uri`; `.halt()`; `.stop()`."""

    def __init__(self, consumer_timeout_ms: int | None = None, tick_ms: int = 1000):
        self.node = f"desatest{uuid.uuid4().hex[:8]}@localhost"
        self.port = _free_port()
        self.dist_port = _free_port()
        self.consumer_timeout_ms = consumer_timeout_ms
        self.tick_ms = tick_ms
        self.workdir = Path(tempfile.mkdtemp(prefix="desa-broker-"))
        self._process: subprocess.Popen | None = None

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def ctl(self, *args: str, timeout: float = 60) -> str:
        return subprocess.run(["rabbitmqctl", "-q", "-n", self.node, *args], check=True,
                              capture_output=True, text=True, timeout=timeout).stdout

    def start(self) -> PrivateBroker:
        """Start the node (again, after `halt()`: same ports, same data)."""
        (self.workdir / "mnesia").mkdir(exist_ok=True)
        (self.workdir / "log").mkdir(exist_ok=True)
        timeout = (f"consumer_timeout = {self.consumer_timeout_ms}\n"
                   if self.consumer_timeout_ms is not None else "")
        (self.workdir / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n{timeout}"
            "loopback_users.guest = false\n")
        (self.workdir / "enabled_plugins").write_text("[].\n")
        shutil.chown(self.workdir, "rabbitmq", "rabbitmq")
        for path in self.workdir.iterdir():
            shutil.chown(path, "rabbitmq", "rabbitmq")
        env = {**os.environ,
               "RABBITMQ_NODENAME": self.node,
               "RABBITMQ_DIST_PORT": str(self.dist_port),
               "RABBITMQ_MNESIA_BASE": str(self.workdir / "mnesia"),
               "RABBITMQ_LOG_BASE": str(self.workdir / "log"),
               "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.workdir / "enabled_plugins"),
               "RABBITMQ_CONFIG_FILE": str(self.workdir / "rabbitmq.conf"),
               # The consumer timeout is checked on each channel tick (a minute by default).
               "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
                   f"-rabbit channel_tick_interval {self.tick_ms}"}
        self._process = subprocess.Popen(["rabbitmq-server"], env=env, cwd=self.workdir,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self._await_startup(deadline=time.monotonic() + 120)
        except Exception:
            self.stop()
            raise
        return self

    def _await_startup(self, deadline: float) -> None:
        # Until the node has registered its name, rabbitmqctl cannot even reach it.
        while True:
            try:
                self.ctl("await_startup", "--timeout", "60", timeout=90)
                return
            except subprocess.CalledProcessError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def url(self, vhost: str = "") -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def add_vhost(self, vhost: str) -> None:
        self.ctl("add_vhost", vhost)
        self.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    def delete_vhost(self, vhost: str) -> None:
        self.ctl("delete_vhost", vhost)

    def halt(self) -> None:
        """Stop the node and keep its data (`start()` brings it back)."""
        self._shut_down()

    def stop(self) -> None:
        """Stop the node and remove everything it had."""
        self._shut_down()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _shut_down(self) -> None:
        if self._process is not None:
            with contextlib.suppress(Exception):  # killed below if it did not stop
                self.ctl("stop", timeout=60)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None
