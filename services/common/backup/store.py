"""The off-site backup store: its own S3 endpoint and bucket, every object sealed (crypto.py).

Layout (one bucket):
  journal/<service>/<scope>/<seq>.seg          changes of one village (scope) in shipping order
  snapshots/<service>/<scope>/<stamp>/data     the village's rows, table by table (COPY text)
  snapshots/<service>/<scope>/<stamp>/manifest written last: a snapshot without it is unfinished
  documents/<primary key>                      a document: a header (SHA-256, type), its bytes
  state/<service>/sequences                    the service's identity sequences, kept current
A scope is a village code, or `regency` for rows that belong to no village.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import certifi
import urllib3
from minio import Minio
from minio.error import S3Error

from services.common.backup.crypto import CorruptObject, Keyring
from services.common.config import Settings, get_settings

REGENCY = "regency"
CONNECTIONS = 64
_MISSING = ("NoSuchKey", "NoSuchObject", "NotFound")


class MissingObject(Exception):
    """A backup object that should be there is not."""


@dataclass(frozen=True)
class Listed:
    name: str
    size: int
    modified: datetime | None


def journal_name(service: str, scope: str, seq: int) -> str:
    return f"journal/{service}/{scope}/{seq:010d}.seg"


def sequences_name(service: str) -> str:
    return f"state/{service}/sequences"


def document_name(key: str) -> str:
    return f"documents/{key}"


class BackupStore:
    def __init__(self, client: Minio, bucket: str, keyring: Keyring):
        self.client = client
        self.bucket = bucket
        self.keyring = keyring

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> BackupStore:
        settings = settings or get_settings()
        # The SDK's own pool, with room for every thread that shares the store: the shipper's
        # services and a restore's services each run PARALLEL transfers at once (with the SDK's
        # 10, the rest opened a connection per request and threw it away).
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=300, read=300), maxsize=CONNECTIONS,
            cert_reqs="CERT_REQUIRED", ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=urllib3.Retry(total=5, backoff_factor=0.2,
                                  status_forcelist=[500, 502, 503, 504]))
        client = Minio(settings.backup_s3_endpoint, access_key=settings.backup_s3_access_key,
                       secret_key=settings.backup_s3_secret_key,
                       secure=settings.backup_s3_secure, region=settings.s3_region,
                       http_client=http)
        return cls(client, settings.backup_bucket, Keyring.parse(settings.backup_keys))

    def ensure_bucket(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            try:
                self.client.make_bucket(self.bucket)
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    # -- raw objects --------------------------------------------------------------------------
    def put(self, name: str, body: bytes) -> int:
        blob = self.keyring.seal(name, body)
        self.client.put_object(self.bucket, name, io.BytesIO(blob), len(blob),
                               content_type="application/octet-stream")
        return len(blob)

    def get_raw(self, name: str) -> bytes:
        try:
            response = self.client.get_object(self.bucket, name)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise MissingObject(f"{name}: missing from the backup store") from None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def get(self, name: str) -> bytes:
        return self.keyring.open(name, self.get_raw(name))

    def exists(self, name: str) -> bool:
        try:
            self.client.stat_object(self.bucket, name)
            return True
        except S3Error as exc:
            if exc.code in _MISSING:
                return False
            raise

    def remove(self, name: str) -> None:
        self.client.remove_object(self.bucket, name)

    def list(self, prefix: str) -> Iterator[Listed]:
        for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
            yield Listed(obj.object_name, obj.size or 0, obj.last_modified)

    # -- typed objects ------------------------------------------------------------------------
    def put_json(self, name: str, value) -> int:
        return self.put(name, json.dumps(value, separators=(",", ":"), default=str).encode())

    def get_json(self, name: str):
        return json.loads(self.get(name))

    def put_document(self, key: str, data: bytes, content_type: str) -> str:
        """A document with its SHA-256 and content type sealed in front of its bytes."""
        digest = hashlib.sha256(data).hexdigest()
        header = json.dumps({"sha256": digest, "content_type": content_type}).encode()
        self.put(document_name(key), header + b"\n" + data)
        return digest

    def get_document(self, key: str, expected_sha256: str | None = None) -> tuple[bytes, str]:
        """(bytes, content type), checked against the SHA-256 stored with it and the expected
        one, when the row that names it records one."""
        name = document_name(key)
        header, _, data = self.get(name).partition(b"\n")
        try:
            meta = json.loads(header)
        except ValueError:
            raise CorruptObject(f"{name}: not a document object") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != meta.get("sha256"):
            raise CorruptObject(f"{name}: SHA-256 does not match the one stored with it")
        if expected_sha256 is not None and actual != expected_sha256:
            raise CorruptObject(f"{name}: SHA-256 {actual} is not the {expected_sha256} "
                                "its row records")
        return data, meta.get("content_type") or "application/octet-stream"
