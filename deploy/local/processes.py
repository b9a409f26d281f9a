"""Starting, watching and stopping the platform's processes: the one way, for `make run` and tests.

Each process gets a pid file (`<run_dir>/<name>.pid`, JSON with pid and argv) and a log file
(`<log_dir>/<name>.log`). A process counts as running only if its pid is alive and still runs the
same command line, so a stale pid file reused by an unrelated process is never signalled.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests

PYTHON = sys.executable


def service_command(service: str) -> list[str]:
    return [PYTHON, "-m", "services.common.runner", service]


def relay_command() -> list[str]:
    return [PYTHON, "-m", "cli.main", "relay"]


def gateway_command(bind: str, workers: int = 2, threads: int = 8) -> list[str]:
    return [PYTHON, "-m", "gunicorn", "--worker-class", "gthread", "--threads", str(threads),
            "--workers", str(workers), "-b", bind, "--graceful-timeout", "10",
            "--no-control-socket",
            "gateway.app:create_app()"]


def gateway_url(bind: str) -> str:
    return f"http://{bind}"


def desa_command(*args: str) -> list[str]:
    return [PYTHON, "-m", "cli.main", *args]


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    if state in ("Z", "X"):  # exited, waiting to be reaped: not running
        return None
    return raw.decode(errors="replace").split("\0")[:-1]


@dataclass
class ProcessGroup:
    run_dir: Path
    log_dir: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path | None = None
    _children: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def names(self) -> list[str]:
        """Every process with a pid file, in the order they were started."""
        files = sorted(self.run_dir.glob("*.pid"), key=lambda p: p.stat().st_mtime_ns)
        return [p.stem for p in files]

    def pid(self, name: str) -> int | None:
        """The pid of `name` if it is running the command it was started with."""
        try:
            record = json.loads(self.pid_file(name).read_text())
        except (FileNotFoundError, ValueError):
            return None
        child = self._children.get(name)
        if child is not None and child.pid == record["pid"]:
            # Our own child: poll() is exact, and right after fork its command line is still
            # the parent's, so it must not be compared.
            return child.pid if child.poll() is None else None
        if _cmdline(record["pid"]) != record["argv"]:
            return None
        return record["pid"]

    def start(self, name: str, argv: list[str], extra_env: dict[str, str] | None = None) -> int:
        """Start `name` unless it already runs; returns its pid."""
        running = self.pid(name)
        if running is not None:
            return running
        log = open(self.log_file(name), "ab")  # noqa: SIM115 - handed to the child
        try:
            child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, cwd=self.cwd,
                                     env={**self.env, **(extra_env or {})},
                                     start_new_session=True)
        finally:
            log.close()
        self._children[name] = child
        self.pid_file(name).write_text(json.dumps({"pid": child.pid, "argv": argv}))
        return child.pid

    def stop(self, name: str, timeout: float = 15.0) -> bool:
        """SIGTERM the process (and its own children), SIGKILL after `timeout`. True if it ran."""
        return bool(self.stop_all([name], timeout))

    def stop_all(self, names: Iterable[str] | None = None, timeout: float = 15.0) -> list[str]:
        """Stop them all at once (SIGTERM, SIGKILL after `timeout`); returns those that ran."""
        order = list(reversed(list(names) if names is not None else self.names()))
        pids = {name: self.pid(name) for name in order}
        running = [name for name in order if pids[name] is not None]
        for name in running:
            self._signal_group(pids[name], signal.SIGTERM)
        self._wait_gone(running, timeout)
        survivors = [name for name in running if self.pid(name) is not None]
        for name in survivors:
            self._signal_group(pids[name], signal.SIGKILL)
        self._wait_gone(survivors, 5.0)
        for name in order:
            self._children.pop(name, None)
            self.pid_file(name).unlink(missing_ok=True)
        return running

    def exited(self, name: str) -> int | None:
        """Exit code of a child this group started, if it has exited."""
        child = self._children.get(name)
        return None if child is None else child.poll()

    def log_tail(self, name: str, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file(name).read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def _wait_gone(self, names: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(self.pid(name) is not None for name in names) and time.monotonic() < deadline:
            time.sleep(0.1)

    @staticmethod
    def _signal_group(pid: int, sig: int) -> None:
        # Children run in their own session, so the group id is the pid: gunicorn's and weed's
        # workers receive the signal too if their parent is already gone.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)


def wait_until(check: Callable[[], bool], timeout: float, what: str,
               failed: Callable[[], str | None] | None = None, interval: float = 0.25) -> None:
    """Poll `check` until it is true; `failed` may return a reason to give up early."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if failed is not None:
            reason = failed()
            if reason:
                raise RuntimeError(f"{what}: {reason}")
        time.sleep(interval)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f}s")


def http_ok(url: str, timeout: float = 3.0, cookies: dict | None = None) -> bool:
    try:
        return requests.get(url, timeout=timeout, cookies=cookies).status_code == 200
    except requests.RequestException:
        return False
