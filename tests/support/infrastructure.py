"""Per-run infrastructure: own PostgreSQL databases, RabbitMQ vhost, SeaweedFS and bucket.

Everything carries a random prefix so runs never see each other's data (or `make run`'s), and
everything is removed at the end.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local import seaweed
from services.common.audit import new_key_entry as new_audit_key_entry
from services.common.config import SERVICES, get_settings, reset_settings
from services.common.db import drop_database
from services.letters.tokens import new_signing_key

RAISED_LOGIN_LIMITS = {"DESA_LOGIN_FAILURES_PER_KEY": "1000000",
                       "DESA_LOGIN_FAILURES_PER_ADDRESS": "1000000"}
ACCESS_KEY = "desa-test"
SECRET_KEY = "desa-test-secret-key-0123456789"


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@dataclass
class Infrastructure:
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="desa-test-")))
    env: dict = field(default_factory=dict)
    _weed: subprocess.Popen | None = None

    @property
    def vhost(self) -> str:
        return f"desa_{self.prefix}"

    def start(self) -> Infrastructure:
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        ports = seaweed.SeaweedPorts.random()
        self._weed = seaweed.start(self.workdir / "weed", ports, ACCESS_KEY, SECRET_KEY,
                                   self.workdir / "weed.log")
        endpoint = f"127.0.0.1:{ports.s3}"
        self.env = {
            "DESA_AMQP_URI": f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}",
            "DESA_DATABASE_URL_TEMPLATE":
                f"postgresql+psycopg2://postgres@127.0.0.1:5432/desa_{self.prefix}_{{service}}",
            "DESA_S3_ENDPOINT": endpoint,
            "DESA_S3_ACCESS_KEY": ACCESS_KEY,
            "DESA_S3_SECRET_KEY": SECRET_KEY,
            "DESA_DOCUMENTS_BUCKET": f"desa-{self.prefix}-documents",
            "DESA_JWT_SECRET": f"test-jwt-secret-{uuid.uuid4().hex}",
            "DESA_LETTER_SIGNING_KEY": new_signing_key(),
            "DESA_AUDIT_KEYS": new_audit_key_entry("test-1"),
            "DESA_RELAY_POLL_SECONDS": "0.05",
            "DESA_LOG_LEVEL": "INFO",
            # Every test calls from 127.0.0.1: the production limit on public routes would
            # throttle the suite. tests/integration/gateway/test_http_security.py runs with a
            # low limit of its own.
            "DESA_PUBLIC_RATE_LIMIT": "100000/minute",
            "DESA_LOGIN_RATE_LIMIT": "100000/minute",
            # The suite logs in thousands of times from 127.0.0.1 with shared accounts, and
            # some tests fail logins on purpose: lock-out tests use the `production_lockout`
            # fixture (tests/conftest.py), which restores the real limits.
            **RAISED_LOGIN_LIMITS,
        }
        os.environ.update(self.env)
        reset_settings()
        seaweed.wait_ready(endpoint, ACCESS_KEY, SECRET_KEY, process=self._weed)
        return self

    @property
    def weed_pid(self) -> int | None:
        """The process id of this run's SeaweedFS (benchmarks read its CPU time)."""
        return self._weed.pid if self._weed is not None else None

    def database_url(self, service: str) -> str:
        return get_settings().database_url(service)

    def stop(self) -> None:
        for service in SERVICES:
            with contextlib.suppress(Exception):  # best effort cleanup
                drop_database(self.database_url(service))
        with contextlib.suppress(Exception):
            rabbitmqctl("delete_vhost", self.vhost)
        if self._weed is not None:
            self._weed.terminate()
            try:
                self._weed.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self._weed.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)
        for key in self.env:
            os.environ.pop(key, None)
        reset_settings()
