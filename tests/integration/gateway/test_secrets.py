"""The gateway under gunicorn refuses to start outside a local run with a public JWT secret."""
from __future__ import annotations

import os
import subprocess

import pytest

from deploy.local.processes import gateway_command
from deploy.local.seaweed import free_port
from services.common.config import DEVELOPMENT_JWT_SECRET


@pytest.mark.parametrize("secret", [DEVELOPMENT_JWT_SECRET, "REPLACE_ME"])
def test_gunicorn_refuses_the_public_or_placeholder_secret(migrated, secret):
    env = {**os.environ, "DESA_ENVIRONMENT": "production", "DESA_JWT_SECRET": secret}
    result = subprocess.run(gateway_command(f"127.0.0.1:{free_port()}", workers=1, threads=1),
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "DESA_JWT_SECRET" in result.stderr and "InsecureSecret" in result.stderr
