"""The disaster-recovery drill's infrastructure: a second SeaweedFS as the off-site backup store
(its own endpoint, as in production), and per test module a world of its own (databases,
documents bucket, backup bucket) so the drill never touches the other tests' data or queues."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from deploy.local import seaweed
from services.common.backup.crypto import new_key_entry
from tests.dr.support import World, desa, own_environment

ACCESS_KEY = "desa-backup-test"
SECRET_KEY = "desa-backup-test-secret-0123456789"


@pytest.fixture(scope="session")
def backup_env(infra):
    """A second object store, standing for the off-site one, and a keyring of two keys."""
    workdir = Path(tempfile.mkdtemp(prefix="desa-backup-"))
    ports = seaweed.SeaweedPorts.random()
    process = seaweed.start(workdir / "weed", ports, ACCESS_KEY, SECRET_KEY, workdir / "weed.log")
    endpoint = f"127.0.0.1:{ports.s3}"
    try:
        seaweed.wait_ready(endpoint, ACCESS_KEY, SECRET_KEY, process=process)
        yield {"DESA_BACKUP_S3_ENDPOINT": endpoint, "DESA_BACKUP_S3_ACCESS_KEY": ACCESS_KEY,
               "DESA_BACKUP_S3_SECRET_KEY": SECRET_KEY, "DESA_BACKUP_BUCKET": "desa-backup",
               "DESA_BACKUP_KEYS": f"{new_key_entry('k2')},{new_key_entry('k1')}"}
    finally:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


VILLAGES = ["36.04.05.2001", "36.04.14.2001"]


@pytest.fixture(scope="package")
def world(migrated, backup_env):
    """Two villages in every service, shipped, snapshotted, then changed again (so a restore
    replays journal after the snapshot). Every test leaves it whole and shipped. Package scope:
    the environment it switches to is given back before any other folder's tests run."""
    with own_environment(backup_env):
        made = World()
        try:
            made.build(VILLAGES, 1)
            made.ship()
            desa("backup", "snapshot", *[arg for v in VILLAGES for arg in ("--village", v)],
                 "--village", "regency")
            made.build(VILLAGES, 2)
            made.ship()
            yield made
        finally:
            made.close()
