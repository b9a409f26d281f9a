"""Documents in S3-compatible object storage through the minio SDK (ARCHITECTURE rule 8)."""
from __future__ import annotations

import functools
import hashlib
import io
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError
from nameko.extensions import DependencyProvider

from services.common.config import Settings, get_settings
from services.common.errors import StorageUnavailable

log = logging.getLogger(__name__)

# What a store that is down, hung or failing looks like through the SDK: connection refused or
# timed out (urllib3 after its retries), a 5xx answer, a reply that is not S3 at all.
UNAVAILABLE = (urllib3.exceptions.HTTPError, ServerError, InvalidResponseError, OSError)


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
    """A minio client whose every call gives up within seconds (DESA_S3_*_TIMEOUT_SECONDS,
    DESA_S3_RETRIES) instead of the SDK's five minutes times six attempts."""
    settings = settings or get_settings()
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=settings.s3_connect_timeout_seconds,
                                read=settings.s3_read_timeout_seconds),
        retries=urllib3.Retry(total=settings.s3_retries, backoff_factor=0.2,
                              status_forcelist=[500, 502, 503, 504]),
        maxsize=32)  # a restore puts documents back from several threads per service
    return Minio(settings.s3_endpoint, access_key=settings.s3_access_key,
                 secret_key=settings.s3_secret_key, secure=settings.s3_secure,
                 region=settings.s3_region, http_client=http)


def _unavailable_as_503(method: Callable) -> Callable:
    """A store that is down becomes StorageUnavailable (503 at the gateway), not a 500 or a
    hang; S3's own answers (no such key, access denied) pass through as S3Error."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except S3Error:
            raise
        except UNAVAILABLE as exc:
            raise StorageUnavailable("Document storage is unavailable; try again shortly.") \
                from exc
    return wrapper


class ObjectStoreClient:
    def __init__(self, client: Minio, bucket: str):
        self.client = client
        self.bucket = bucket

    @_unavailable_as_503
    def ensure_bucket(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            try:
                self.client.make_bucket(self.bucket)
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    @_unavailable_as_503
    def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        self.client.put_object(self.bucket, key, io.BytesIO(data), len(data),
                               content_type=content_type)
        return StoredObject(key=key, size=len(data), content_type=content_type,
                            sha256=hashlib.sha256(data).hexdigest())

    @_unavailable_as_503
    def get_bytes(self, key: str) -> bytes:
        response = self.client.get_object(self.bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    @_unavailable_as_503
    def stream(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """Open the object now (so a store that is down fails before a response starts) and
        return its chunks."""
        response = self.client.get_object(self.bucket, key)

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.stream(chunk_size)
            finally:
                response.close()
                response.release_conn()

        return chunks()

    @_unavailable_as_503
    def remove(self, key: str) -> None:
        self.client.remove_object(self.bucket, key)

    @_unavailable_as_503
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
        # Storage down at start must not stop the service: letters are still signed and their
        # PDFs wait (retried); `desa buckets` makes the bucket.
        try:
            self.store.ensure_bucket()
        except StorageUnavailable:
            log.warning("object storage unavailable at start; documents wait until it is back")

    def get_dependency(self, worker_ctx) -> ObjectStoreClient:
        return self.store
