"""The whole platform as real processes: `Platform` and `running_platform`, shared by tests/e2e,
tests/faults and tests/browser.

Every existing service (`python -m services.common.runner NAME`), the relay (`desa relay`) and the
gateway under gunicorn on a free port, started through deploy/local/processes.py exactly as
`make run` starts them (migrate, declare and buckets through the `desa` command too), with their
own databases, vhost and bucket on this run's PostgreSQL and SeaweedFS, and a broker the caller
chooses (the system RabbitMQ, a private node, a cluster).
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from deploy.local.processes import (
    ProcessGroup,
    desa_command,
    gateway_command,
    gateway_url,
    http_ok,
    relay_command,
    service_command,
    wait_until,
)
from deploy.local.seaweed import free_port
from services.common.config import SERVICES
from services.common.db import drop_database
from services.common.topology import service_classes

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 90.0


@dataclass
class Platform:
    """The running platform: its URL, its processes, the `desa` command and login helpers."""

    url: str
    env: dict[str, str]
    group: ProcessGroup
    services: list[str]
    _tokens: dict = field(default_factory=dict)

    # -- processes --------------------------------------------------------------------------
    def start_service(self, name: str, wait: bool = True) -> None:
        self.group.start(name, service_command(name))
        if wait:
            self.wait_ready()

    def stop_service(self, name: str) -> None:
        self.group.stop(name)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Until the gateway's /statusz says the broker, every service and storage answer."""
        names = [*self.services, "relay", "gateway"]
        wait_until(lambda: http_ok(f"{self.url}/statusz"), timeout, "platform /statusz",
                   failed=lambda: self._dead(names))

    def _dead(self, names: list[str]) -> str | None:
        for name in names:
            code = self.group.exited(name)
            if code is not None:
                return f"{name} exited with {code}:\n{self.group.log_tail(name)}"
        return None

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.group.log_tail(name)}"
                         for name in self.group.names())

    # -- the operator CLI -------------------------------------------------------------------
    def desa(self, *args: str, input: str | None = None,
             check: bool = True) -> subprocess.CompletedProcess:
        """Run `desa ARGS` as the operator would, with this platform's environment."""
        result = subprocess.run(desa_command(*args), input=input, capture_output=True, text=True,
                                env=self.env, cwd=ROOT, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"desa {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def create_account(self, role: str, username: str, password: str,
                       village_code: str | None = None, district_code: str | None = None) -> dict:
        args = ["account", "create", "--role", role, "--username", username]
        if village_code:
            args += ["--village", village_code]
        if district_code:
            args += ["--district", district_code]
        return json.loads(self.desa(*args, input=password + "\n").stdout)

    # -- HTTP -------------------------------------------------------------------------------
    def api(self, path: str) -> str:
        return f"{self.url}/api/v1{path}"

    def login(self, username: str, password: str) -> str:
        response = requests.post(self.api("/auth/login"),
                                 json={"username": username, "password": password}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def login_pin(self, nik: str, pin: str) -> str:
        response = requests.post(self.api("/auth/login"), json={"nik": nik, "pin": pin},
                                 timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def staff_token(self, role: str, village_code: str | None = None,
                    district_code: str | None = None) -> str:
        """A logged-in account of `role` (created once per village or district and role, then
        reused)."""
        return self.login(*self.staff_credentials(role, village_code, district_code))

    def staff_credentials(self, role: str, village_code: str | None = None,
                          district_code: str | None = None) -> tuple[str, str]:
        """Username and password of the account of `role` (created on first use)."""
        key = (role, village_code or district_code)
        if key not in self._tokens:
            suffix = (village_code or district_code or "regency").replace(".", "")
            username, password = f"e2e.{role}.{suffix}", f"pw-{role}-{suffix}-Str0ng!"
            self.create_account(role, username, password, village_code, district_code)
            self._tokens[key] = (username, password)
        return self._tokens[key]


def isolated_env(prefix: str, bind: str) -> dict[str, str]:
    """This platform's own databases, vhost and bucket, on the run's PostgreSQL and SeaweedFS.

    Its processes keep consuming while they run, so sharing the `migrated` databases and vhost
    would let them answer (and add rows) in other folders' tests.
    """
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DESA_AMQP_URI": f"amqp://guest:guest@127.0.0.1:5672/desa_{prefix}",
        "DESA_DATABASE_URL_TEMPLATE":
            f"postgresql+psycopg2://postgres@127.0.0.1:5432/desa_{prefix}_{{service}}",
        "DESA_DOCUMENTS_BUCKET": f"desa-{prefix}-documents",
        "DESA_PUBLIC_URL": gateway_url(bind),
    }



@contextlib.contextmanager
def running_platform(workdir: Path, prefix: str, amqp_uri: Callable[[str], str],
                     add_vhost: Callable[[str], None], delete_vhost: Callable[[str], None],
                     extra_env: dict[str, str] | None = None,
                     platform_cls: type[Platform] = Platform) -> Iterator[Platform]:
    """Start the platform with databases, bucket and vhost `desa_<prefix>` (made by
    `add_vhost`, reached at `amqp_uri(vhost)`); stop its processes and drop what it made when
    the block ends. Fails the test, with the processes' logs, if it does not come up."""
    bind = f"127.0.0.1:{free_port()}"
    vhost = f"desa_{prefix}"
    add_vhost(vhost)
    env = {**isolated_env(prefix, bind), "DESA_AMQP_URI": amqp_uri(vhost), **(extra_env or {})}
    group = ProcessGroup(workdir / "run", workdir / "log", env=env, cwd=ROOT)
    services = [cls.name for cls in service_classes()]
    platform = platform_cls(url=gateway_url(bind), env=env, group=group, services=services)

    def tear_down() -> None:
        group.stop_all()
        template = env["DESA_DATABASE_URL_TEMPLATE"]
        for name in SERVICES:
            with contextlib.suppress(Exception):  # best effort, like the infra fixture
                drop_database(template.format(service=name))
        with contextlib.suppress(Exception):
            delete_vhost(vhost)

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
        pytest.fail(f"the platform did not start: {exc}\n{logs}")
    try:
        yield platform
    finally:
        tear_down()
