"""One error body for every failure (ARCHITECTURE rule 6), mapped in this one place.

`{"error": {"code", "message", "fields"?}}` with the HTTP status that means it: service errors
(services.common.errors, raised locally or rebuilt from RPC), flask-smorest/webargs validation,
unknown routes, oversized bodies, invalid JSON, an unreachable service (503) and anything
unexpected (500, logged with its traceback, never shown to the client).
"""
from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify
from nameko.exceptions import RemoteError
from werkzeug.exceptions import HTTPException

from services.common.errors import DesaError, Unauthenticated

log = logging.getLogger(__name__)


class ServiceUnavailable(DesaError):
    """A service (or the broker) did not answer: timeout, connection lost, not running."""

    code = "service_unavailable"
    http_status = 503
    retry_after_seconds = 5


# HTTP statuses raised by Flask/werkzeug themselves, with our code for each.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_attempts",
    500: "internal_error",
    503: "service_unavailable",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def error_response(status: int, code: str, message: str, fields: dict | None = None,
                   headers: dict | None = None) -> Response:
    response = jsonify(error_body(code, message, fields))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_fields(messages: dict) -> dict:
    """Flatten webargs' `{location: {field: [...]}}` into `{field: [...]}`.

    The field names are what a client sent, whatever the location (json, query, form, files);
    a location that failed as a whole (e.g. invalid JSON) keeps the location as its key.
    """
    fields: dict = {}
    for location, errors in messages.items():
        if isinstance(errors, dict):
            fields.update(errors)
        else:
            fields[location] = errors
    return fields


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = data.get("headers") or {}
    messages = data.get("messages") or data.get("errors")
    if status == 400 and messages and "json" in messages and not isinstance(
            messages["json"], dict):
        return error_response(400, "validation_error", "The request body is not valid JSON.",
                              {"body": list(messages["json"])}, headers)
    if status in (400, 422) and isinstance(messages, dict):
        # flask-smorest answers schema failures with 422; our contract says 400.
        return error_response(400, "validation_error", "The request has invalid fields.",
                              validation_fields(messages), headers)
    if status == 413:
        return error_response(413, "payload_too_large", "The request body is too large.",
                              headers=headers)
    if status >= 500:
        log.error("HTTP error", extra={"status": status})
    code = HTTP_CODES.get(status, "error")
    message = data.get("message") or error.description or error.name
    return error_response(status, code, message, headers=headers)


def handle_desa_error(error: DesaError) -> Response:
    if error.http_status >= 500:
        log.warning("service unavailable", extra={"error": error.message})
    headers = {}
    if isinstance(error, Unauthenticated) and g.get("desa_bearer_required"):
        headers["WWW-Authenticate"] = 'Bearer realm="desa-digital"'
    retry_after = getattr(error, "retry_after_seconds", None)
    if retry_after is not None:  # a 503: the client may retry (with its Idempotency-Key)
        headers["Retry-After"] = str(retry_after)
    return error_response(error.http_status, error.code, error.message, error.fields or None,
                          headers)


def handle_remote_error(error: RemoteError) -> Response:
    # A service failed in a way it did not declare: a bug there, not something the client did.
    log.error("remote service error", extra={"exc_type": error.exc_type})
    return error_response(500, "internal_error", "An internal error occurred.")


def handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled error")
    return error_response(500, "internal_error", "An internal error occurred.")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DesaError, handle_desa_error)
    app.register_error_handler(RemoteError, handle_remote_error)
    app.register_error_handler(Exception, handle_unexpected)
