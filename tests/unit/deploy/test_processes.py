"""ProcessGroup: the one way `make run` and the e2e tests start and stop processes."""
from __future__ import annotations

import json
import os
import sys
import time

from deploy.local.processes import ProcessGroup

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
STUBBORN = [sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)"]


def group(tmp_path) -> ProcessGroup:
    return ProcessGroup(tmp_path / "run", tmp_path / "log")


def test_start_twice_leaves_the_running_process_alone(tmp_path):
    first = group(tmp_path)
    pid = first.start("sleeper", SLEEPER)
    try:
        # A second runner (another `make run`) sees it through the pid file, not its own child.
        second = group(tmp_path)
        time.sleep(0.3)  # let the child exec so its command line is its own
        assert second.pid("sleeper") == pid
        assert second.start("sleeper", SLEEPER) == pid
    finally:
        first.stop_all()


def test_a_stale_pid_file_of_another_program_is_not_running(tmp_path):
    processes = group(tmp_path)
    processes.pid_file("ghost").write_text(json.dumps({"pid": os.getpid(), "argv": SLEEPER}))
    assert processes.pid("ghost") is None
    assert processes.stop("ghost") is False
    assert not processes.pid_file("ghost").exists()


def test_stop_terminates_and_forgets_the_process(tmp_path):
    processes = group(tmp_path)
    processes.start("a", SLEEPER)
    processes.start("b", SLEEPER)
    assert processes.names() == ["a", "b"]
    assert processes.stop_all(timeout=5) == ["b", "a"]
    assert processes.pid("a") is None and processes.pid("b") is None
    assert processes.names() == []


def test_a_process_ignoring_sigterm_is_killed_after_the_timeout(tmp_path):
    processes = group(tmp_path)
    processes.start("stubborn", STUBBORN)
    deadline = time.monotonic() + 10
    while "ready" not in processes.log_tail("stubborn") and time.monotonic() < deadline:
        time.sleep(0.05)
    began = time.monotonic()
    assert processes.stop("stubborn", timeout=1) is True
    assert 1 <= time.monotonic() - began < 6
    assert processes.pid("stubborn") is None


def test_output_goes_to_the_log_file_and_exit_codes_are_seen(tmp_path):
    processes = group(tmp_path)
    processes.start("echo", [sys.executable, "-c", "print('hello from a child')"])
    deadline = time.monotonic() + 10
    while processes.exited("echo") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes.exited("echo") == 0
    assert processes.pid("echo") is None
    assert "hello from a child" in processes.log_file("echo").read_text()
