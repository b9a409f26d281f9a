"""The letters service refuses to start without a signing key (fail loudly, not at signing)."""
from __future__ import annotations

import os
import subprocess

import pytest

from deploy.local.processes import service_command
from tests.integration.letters.conftest import ROOT

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("key", ["", "bm90LWEta2V5"])
def test_missing_or_bad_signing_key_stops_the_service(migrated, key):
    env = {**os.environ, "DESA_LETTER_SIGNING_KEY": key}
    result = subprocess.run(service_command("letters"), env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "DESA_LETTER_SIGNING_KEY" in result.stderr
