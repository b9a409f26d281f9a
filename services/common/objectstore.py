"""Documents in S3-compatible object storage through the minio SDK (ARCHITECTURE rule 8)."""
from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from minio import Minio
from minio.error import S3Error
from nameko.extensions import DependencyProvider

from services.common.config import Settings, get_settings


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    content_type: str
    sha256: str


def document_key(village_code: str, service: str, kind: str) -> str:
    """`<village_code>/<service>/<kind>/<uuid>`."""
    return f"{village_code}/{service}/{kind}/{uuid.uuid4()}"


def make_client(settings: Settings | None = None) -> Minio:
    settings = settings or get_settings()
    return Minio(settings.s3_endpoint, access_key=settings.s3_access_key,
                 secret_key=settings.s3_secret_key, secure=settings.s3_secure,
                 region=settings.s3_region)


class ObjectStoreClient:
    def __init__(self, client: Minio, bucket: str):
        self.client = client
        self.bucket = bucket

    def ensure_bucket(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            try:
                self.client.make_bucket(self.bucket)
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        self.client.put_object(self.bucket, key, io.BytesIO(data), len(data),
                               content_type=content_type)
        return StoredObject(key=key, size=len(data), content_type=content_type,
                            sha256=hashlib.sha256(data).hexdigest())

    def get_bytes(self, key: str) -> bytes:
        response = self.client.get_object(self.bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def stream(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        response = self.client.get_object(self.bucket, key)
        try:
            yield from response.stream(chunk_size)
        finally:
            response.close()
            response.release_conn()

    def remove(self, key: str) -> None:
        self.client.remove_object(self.bucket, key)

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, key)
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise


def documents_store(settings: Settings | None = None) -> ObjectStoreClient:
    settings = settings or get_settings()
    return ObjectStoreClient(make_client(settings), settings.documents_bucket)


class ObjectStore(DependencyProvider):
    """One minio client per service container; every worker gets the same thin wrapper."""

    def setup(self) -> None:
        self.store = documents_store()

    def start(self) -> None:
        self.store.ensure_bucket()

    def get_dependency(self, worker_ctx) -> ObjectStoreClient:
        return self.store
