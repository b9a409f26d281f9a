"""Errors that cross the RPC wire as themselves and map to one HTTP error body at the gateway.

Each error carries `(message, fields)` as its args, so nameko serialises and rebuilds it on the
calling side (`deserialize_to_instance`), and the gateway turns it into
`{"error": {"code", "message", "fields"}}` with the status in `http_status`.
`fields` travels as a JSON string: nameko stringifies every non-string value in exception args
(a CSV line 3 would arrive as "3", a null field as "None").
"""
from __future__ import annotations

import json

from nameko.exceptions import deserialize_to_instance


class DesaError(Exception):
    code = "error"
    http_status = 500

    def __init__(self, message: str, fields: dict | str | None = None):
        if isinstance(fields, str):  # rebuilt on the calling side of an RPC
            fields = json.loads(fields)
        fields = fields or {}
        super().__init__(message, json.dumps(fields, default=str))
        self.message = message
        self.fields = fields

    def __str__(self) -> str:
        return self.message


@deserialize_to_instance
class ValidationFailed(DesaError):
    """Input does not have the right form (HTTP 400)."""
    code = "validation_error"
    http_status = 400


@deserialize_to_instance
class Unauthenticated(DesaError):
    code = "unauthorized"
    http_status = 401


@deserialize_to_instance
class Forbidden(DesaError):
    code = "forbidden"
    http_status = 403


@deserialize_to_instance
class NotFound(DesaError):
    code = "not_found"
    http_status = 404


@deserialize_to_instance
class Conflict(DesaError):
    """The request clashes with the current state (duplicate NIK, letter already signed)."""
    code = "conflict"
    http_status = 409


@deserialize_to_instance
class PreconditionFailed(DesaError):
    """A change sent with the version its sender read (`If-Match`) while the record has changed
    since: nothing was changed; read it again (HTTP 412)."""
    code = "precondition_failed"
    http_status = 412


@deserialize_to_instance
class Unprocessable(DesaError):
    """Well-formed input that the domain rules refuse (HTTP 422)."""
    code = "unprocessable"
    http_status = 422


@deserialize_to_instance
class TooManyAttempts(DesaError):
    """Login locked after repeated failures."""
    code = "too_many_attempts"
    http_status = 429


@deserialize_to_instance
class DeadlineExceeded(DesaError):
    """The caller's deadline passed before the work was done: nothing was changed (HTTP 503)."""
    code = "service_unavailable"
    http_status = 503
    retry_after_seconds = 5


@deserialize_to_instance
class IdempotencyKeyReused(DesaError):
    """An idempotency key sent again with a different request (HTTP 422)."""
    code = "idempotency_key_reused"
    http_status = 422


@deserialize_to_instance
class StorageUnavailable(DesaError):
    """Object storage did not answer in time or refused the connection (HTTP 503)."""
    code = "service_unavailable"
    http_status = 503
    retry_after_seconds = 5


@deserialize_to_instance
class DatabaseUnavailable(DesaError):
    """The service's database connection failed in the middle of the work (terminated, server
    restarting, unreachable): the work was rolled back or never committed (HTTP 503)."""
    code = "service_unavailable"
    http_status = 503
    retry_after_seconds = 5


@deserialize_to_instance
class UnsupportedMediaType(DesaError):
    """An upload whose bytes are not of a kind the endpoint takes (a photo that is no image)."""
    code = "unsupported_media_type"
    http_status = 415
