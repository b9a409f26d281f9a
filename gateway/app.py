"""The gateway's Flask application: `create_app()`, served by gunicorn (gthread workers)."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request
from flask_smorest import Api
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import security
from gateway.auth import VerifiedTokens, check_secrets
from gateway.errors import error_body, handle_http_exception, register_error_handlers
from gateway.rpc import RpcPool
from gateway.schemas import ErrorSchema
from services.common.config import Settings, get_settings
from services.common.errors import ValidationFailed
from services.common.logs import configure_logging, request_id_var

log = logging.getLogger("gateway.access")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's request id is echoed into logs and headers, so only accept a plain token.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SWAGGER_UI_CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/"
REDOC_CDN = "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"


class DesaApi(Api):
    """flask-smorest's Api with our error body (its own is not ARCHITECTURE rule 6's)."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return handle_http_exception(error)


def _start_request() -> None:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = supplied if _REQUEST_ID_RE.match(supplied) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    g.request_id_token = request_id_var.set(g.request_id)


def _check_body() -> None:
    """Hostile bodies get a clear 4xx before any view reads them (413, 400).

    JSON bodies may be at most DESA_MAX_JSON_BYTES; uploads (CSV, PDF, scans, multipart) up to
    DESA_MAX_REQUEST_BYTES. An oversized body is read and discarded first (up to
    DRAIN_LIMIT_BYTES) so the client, still sending, reads the 413 instead of a reset
    connection. A JSON body nested deeper than Python's parser can follow is a 400, not a 500.
    """
    settings = current_app.extensions["desa"]["settings"]
    if request.is_json:
        request.max_content_length = min(settings.max_json_bytes, settings.max_request_bytes)
    route_limit = security.route_body_limit(current_app.view_functions.get(request.endpoint or ""))
    if route_limit is not None:
        request.max_content_length = min(route_limit, request.max_content_length or route_limit)
    length = request.content_length
    if length is not None and length > request.max_content_length:
        _drain(length)
        raise RequestEntityTooLarge()
    if request.is_json and length:
        try:
            json.loads(request.get_data(cache=True))
        except RecursionError:
            raise ValidationFailed("The request body is nested too deeply.",
                                   fields={"body": ["Nested too deeply."]}) from None
        except ValueError:
            pass  # not JSON at all: the view's schema answers that, as before


DRAIN_LIMIT_BYTES = 64 * 1024 * 1024


def _drain(length: int) -> None:
    """Read and drop a body the answer does not need (an oversized one, or one refused before
    it was read: no token, no right), so the answer reaches a client that is still sending
    instead of a reset connection. The server's input stream ends at the declared length, so
    what a view already read is not waited for again."""
    if length > DRAIN_LIMIT_BYTES:
        return  # not worth the bandwidth: the server closes, the client may see a reset
    stream, left = request.environ["wsgi.input"], length
    while left > 0:
        chunk = stream.read(min(left, 64 * 1024))
        if not chunk:
            break
        left -= len(chunk)


def _finish_request(response: Response) -> Response:
    if response.status_code >= 400 and request.content_length:
        # refused before the view read the body (401, 403, 404...): an upload by a phone whose
        # token expired must read its 401, not a broken pipe
        _drain(request.content_length)
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    started = g.get("request_started")
    # The route pattern, never the path: paths carry NIKs and family numbers.
    route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    actor = g.get("desa_actor")
    log.info("request", extra={
        "method": request.method, "route": route, "status": response.status_code,
        "role": actor.role if actor else None,
        "username": actor.username if actor else None,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None})
    return response


def _end_request(exc: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        request_id_var.reset(token)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    configure_logging(settings.log_level, service="gateway")
    check_secrets(settings)  # outside a local run, no public or placeholder JWT secret
    app = Flask("gateway")
    app.json.sort_keys = False  # keep the services' field order (nik, name, ...) in responses
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        API_TITLE="Desa Digital",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_CDN,
        OPENAPI_REDOC_PATH="redoc",
        OPENAPI_REDOC_URL=REDOC_CDN,
        API_SPEC_OPTIONS={
            "info": {"description": "Public services platform for the villages of Kabupaten "
                                    "Serang. Every error has the body `" + json.dumps(
                                        error_body("validation_error", "...",
                                                   {"nik": ["..."]})) + "`."},
            "components": {"securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        },
    )
    if settings.trusted_proxies:  # the client's address from X-Forwarded-For (login limits)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)
    app.extensions["desa"] = {"settings": settings, "rpc": RpcPool(settings),
                              "tokens": VerifiedTokens()}
    app.before_request(_start_request)
    app.before_request(_check_body)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)

    security.install(app, settings)

    api = DesaApi(app)
    register_error_handlers(app)

    from gateway.routes import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    from gateway import portal

    portal.register(app)
    return app
