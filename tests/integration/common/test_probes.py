"""A service process answers Kubernetes' probes: alive while its container runs, ready when its
broker and database answer too."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from deploy.local.seaweed import free_port

ROOT = Path(__file__).resolve().parents[3]


def start(tmp_path: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = (tmp_path / f"registry-{port}.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "services.common.runner", "registry"],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "DESA_HEALTH_PORT": str(port), **env})
    return process, f"http://127.0.0.1:{port}"


def probe(process: subprocess.Popen, url: str, timeout: float = 60.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "the service exited"
        try:
            return requests.get(url, timeout=10)
        except requests.ConnectionError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.3)


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_running_service_is_alive_and_ready(migrated, processes, tmp_path):
    process, url = start(tmp_path)
    processes.append(process)
    alive = probe(process, f"{url}/healthz")
    assert alive.status_code == 200 and alive.json()["checks"] == {"service": True}
    ready = probe(process, f"{url}/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"service": True, "broker": True, "database": True}
    assert probe(process, f"{url}/other").status_code == 404


def test_a_service_whose_database_is_gone_is_alive_but_not_ready(migrated, processes, tmp_path):
    process, url = start(tmp_path, DESA_DATABASE_URL_TEMPLATE=(
        "postgresql+psycopg2://postgres@127.0.0.1:5432/desa_no_such_database_{service}"))
    processes.append(process)
    assert probe(process, f"{url}/healthz").status_code == 200
    ready = probe(process, f"{url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"service": True, "broker": True, "database": False}
