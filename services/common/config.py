"""Configuration from the environment: the one place that reads DESA_* variables."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

SERVICES = ("registry", "letters", "finance", "potential")
# Public, in this repository: accepted only where DESA_ENVIRONMENT is "local".
DEVELOPMENT_JWT_SECRET = "local-development-only-jwt-secret-change-me"


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """Every variable, its default safe for a local run. Documented in README.md."""

    amqp_uri: str = field(default_factory=lambda: _env(
        "DESA_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"))
    database_url_template: str = field(default_factory=lambda: _env(
        "DESA_DATABASE_URL_TEMPLATE", "postgresql+psycopg2://postgres@127.0.0.1:5432/desa_{service}"))
    s3_endpoint: str = field(default_factory=lambda: _env("DESA_S3_ENDPOINT", "127.0.0.1:8333"))
    s3_access_key: str = field(default_factory=lambda: _env("DESA_S3_ACCESS_KEY", "desa-local"))
    s3_secret_key: str = field(default_factory=lambda: _env(
        "DESA_S3_SECRET_KEY", "desa-local-secret-change-me"))
    s3_secure: bool = field(default_factory=lambda: _env_bool("DESA_S3_SECURE", False))
    s3_region: str = field(default_factory=lambda: _env("DESA_S3_REGION", "us-east-1"))
    # A hung or unreachable store must fail a request within seconds, not tie up a gateway
    # thread or a service worker for minutes (the minio SDK's defaults: 5 min, 5 retries).
    s3_connect_timeout_seconds: float = field(default_factory=lambda: float(_env(
        "DESA_S3_CONNECT_TIMEOUT_SECONDS", "2")))
    s3_read_timeout_seconds: float = field(default_factory=lambda: float(_env(
        "DESA_S3_READ_TIMEOUT_SECONDS", "5")))
    s3_retries: int = field(default_factory=lambda: int(_env("DESA_S3_RETRIES", "1")))
    documents_bucket: str = field(default_factory=lambda: _env(
        "DESA_DOCUMENTS_BUCKET", "desa-documents"))
    # "local" (a developer's machine) or anything else (a deployment: "production").
    environment: str = field(default_factory=lambda: _env("DESA_ENVIRONMENT", "production"))
    jwt_secret: str = field(default_factory=lambda: _env("DESA_JWT_SECRET",
                                                         DEVELOPMENT_JWT_SECRET))
    # Earlier JWT secrets, comma-separated, still accepted for tokens they signed (rotation).
    jwt_previous_secrets: str = field(default_factory=lambda: _env(
        "DESA_JWT_PREVIOUS_SECRETS", ""))
    token_ttl_seconds: int = field(default_factory=lambda: int(_env(
        "DESA_TOKEN_TTL_SECONDS", "900")))
    rpc_timeout_seconds: float = field(default_factory=lambda: float(_env(
        "DESA_RPC_TIMEOUT_SECONDS", "10")))
    public_url: str = field(default_factory=lambda: _env("DESA_PUBLIC_URL", "http://127.0.0.1:8000"))
    max_request_bytes: int = field(default_factory=lambda: int(_env(
        "DESA_MAX_REQUEST_BYTES", str(10 * 1024 * 1024))))
    max_json_bytes: int = field(default_factory=lambda: int(_env(
        "DESA_MAX_JSON_BYTES", str(1024 * 1024))))
    letter_signing_key: str = field(default_factory=lambda: _env("DESA_LETTER_SIGNING_KEY", ""))
    cors_origins: tuple[str, ...] = field(default_factory=lambda: tuple(
        origin.strip() for origin in _env("DESA_CORS_ORIGINS", "").split(",") if origin.strip()))
    public_rate_limit: str = field(default_factory=lambda: _env(
        "DESA_PUBLIC_RATE_LIMIT", "120/minute"))
    login_rate_limit: str = field(default_factory=lambda: _env(
        "DESA_LOGIN_RATE_LIMIT", "30/minute"))
    rate_limit_storage: str = field(default_factory=lambda: _env(
        "DESA_RATE_LIMIT_STORAGE", "memory://"))
    # Public keys of earlier signing keys, comma-separated: their QR codes stay valid.
    letter_verify_keys: str = field(default_factory=lambda: _env("DESA_LETTER_VERIFY_KEYS", ""))
    relay_poll_seconds: float = field(default_factory=lambda: float(_env(
        "DESA_RELAY_POLL_SECONDS", "0.2")))
    log_level: str = field(default_factory=lambda: _env("DESA_LOG_LEVEL", "INFO"))
    max_workers: int = field(default_factory=lambda: int(_env("DESA_MAX_WORKERS", "10")))
    # Event consumers (decision 0097): unacknowledged messages per queue and process, and the
    # most messages one transaction applies.
    event_prefetch: int = field(default_factory=lambda: int(_env("DESA_EVENT_PREFETCH", "200")))
    event_batch: int = field(default_factory=lambda: int(_env("DESA_EVENT_BATCH", "200")))
    # The off-site backup store: its own S3 endpoint and bucket (services/common/backup).
    backup_s3_endpoint: str = field(default_factory=lambda: _env(
        "DESA_BACKUP_S3_ENDPOINT", "127.0.0.1:8334"))
    backup_s3_access_key: str = field(default_factory=lambda: _env(
        "DESA_BACKUP_S3_ACCESS_KEY", "desa-backup"))
    backup_s3_secret_key: str = field(default_factory=lambda: _env(
        "DESA_BACKUP_S3_SECRET_KEY", "desa-backup-secret-change-me"))
    backup_s3_secure: bool = field(default_factory=lambda: _env_bool("DESA_BACKUP_S3_SECURE",
                                                                     False))
    backup_bucket: str = field(default_factory=lambda: _env("DESA_BACKUP_BUCKET", "desa-backup"))
    # The audit log's HMAC keys (decision 0035), "id:base64key,...": the first seals new rows,
    # every key verifies the rows sealed with it. Empty: rows are sealed with plain SHA-256.
    audit_keys: str = field(default_factory=lambda: _env("DESA_AUDIT_KEYS", ""))
    # Keyring "id:base64key,id:base64key"; the first key encrypts, every key decrypts.
    backup_keys: str = field(default_factory=lambda: _env("DESA_BACKUP_KEYS", ""))
    backup_poll_seconds: float = field(default_factory=lambda: float(_env(
        "DESA_BACKUP_POLL_SECONDS", "0.5")))
    backup_snapshot_hours: float = field(default_factory=lambda: float(_env(
        "DESA_BACKUP_SNAPSHOT_HOURS", "24")))
    # Sent outbox rows are deleted this long after sending, once the backup store has them.
    outbox_keep_hours: float = field(default_factory=lambda: float(_env(
        "DESA_OUTBOX_KEEP_HOURS", "24")))
    # "auto": quorum queues when DESA_AMQP_URI names three or more broker nodes, else classic.
    queue_type: str = field(default_factory=lambda: _env("DESA_QUEUE_TYPE", "auto"))
    # Port of a service process's /healthz and /readyz (services/common/probes.py); 0: none.
    health_port: int = field(default_factory=lambda: int(_env("DESA_HEALTH_PORT", "0")))
    # Login lock-out (services/registry/lockout.py): failures per login name and per address
    # before a lock of login_lock_seconds, doubling with each further lock (at most a day).
    login_failures_per_key: int = field(default_factory=lambda: int(_env(
        "DESA_LOGIN_FAILURES_PER_KEY", "5")))
    login_failures_per_address: int = field(default_factory=lambda: int(_env(
        "DESA_LOGIN_FAILURES_PER_ADDRESS", "100")))
    login_lock_seconds: int = field(default_factory=lambda: int(_env(
        "DESA_LOGIN_LOCK_SECONDS", "900")))
    # Proxies in front of the gateway whose X-Forwarded-For it trusts (0: use the peer address).
    trusted_proxies: int = field(default_factory=lambda: int(_env("DESA_TRUSTED_PROXIES", "0")))

    def database_url(self, service: str) -> str:
        return self.database_url_template.format(service=service)

    def nameko_config(self) -> dict:
        return {
            "AMQP_URI": self.amqp_uri,
            "max_workers": self.max_workers,
            "serializer": "json",
            "DESA_SERVICE_SETTINGS": True,
            "DESA_QUEUE_TYPE": self.queue_type,
            "DESA_EVENT_PREFETCH": self.event_prefetch,
            "DESA_EVENT_BATCH": self.event_batch,
        }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between runs)."""
    get_settings.cache_clear()
