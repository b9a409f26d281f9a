"""HTTP hardening of the gateway: secure headers, a CORS allow-list, rate limits on public routes.

- Every response carries `X-Content-Type-Options: nosniff` and a referrer policy; API answers
  (JSON, PDFs) also `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` and
  `X-Frame-Options: DENY` (they are never rendered as pages or framed); answers to a caller
  with a token `Cache-Control: no-store` (personal data must not sit in shared caches);
  `Strict-Transport-Security` when the public URL is https.
- Cross-origin calls are refused unless the origin is in `DESA_CORS_ORIGINS` (comma-separated,
  exact origins; empty by default: the village websites are served by the gateway itself).
- Public routes (`@public`: verification, village list, public APBDes, ...) are limited per
  client address (`DESA_PUBLIC_RATE_LIMIT`, default 120/minute), counted in
  `DESA_RATE_LIMIT_STORAGE` (`memory://` per process by default; `redis://host:6379` shares
  the count between gateway processes and pods). Over the limit: 429 with `Retry-After`.
  A route may name a stricter limit of its own (`@rate_limit`): logging in is limited to
  `DESA_LOGIN_RATE_LIMIT` (default 30/minute) per address, successes included, because each
  attempt costs an argon2 check; failures also lock out per account and address in the registry.
- A route may take a smaller body than its kind allows (`@body_limit`, decision 0023): login a
  few KiB, the public PDF check a letter's size. The limit is in the OpenAPI document
  (`x-desa-max-body-bytes`).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable

import limits
from flask import Flask, Response, current_app, request
from flask_cors import CORS
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from gateway.errors import error_response
from services.common.config import Settings

API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Pages the gateway renders itself (API docs) load their scripts from a CDN: no API CSP there.
_DOC_PATHS = ("/api/v1/docs", "/api/v1/redoc")
EXPOSED_HEADERS = ("X-Request-ID", "Retry-After", "Content-Disposition", "X-Content-SHA256",
                   "Location", "ETag")


BODY_LIMIT_EXTENSION = "x-desa-max-body-bytes"


def rate_limit(setting: str) -> Callable:
    """Limit a route per client address by the Settings field `setting` (e.g. "30/minute")."""

    def decorate(view: Callable) -> Callable:
        view._desa_rate_limit = setting
        return view

    return decorate


def body_limit(max_bytes: int) -> Callable:
    """The largest request body this route takes (413 above), below its kind's limit."""

    def decorate(view: Callable) -> Callable:
        view._desa_max_body = max_bytes
        view.__dict__.setdefault("_apidoc", {}).setdefault("manual_doc", {})[
            BODY_LIMIT_EXTENSION] = max_bytes
        return view

    return decorate


def route_body_limit(view: Callable | None) -> int | None:
    return getattr(view, "_desa_max_body", None)


class PublicRateLimit:
    """Hits per client address on public routes (and routes with their own `@rate_limit`), in
    a moving window."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.item = limits.parse(settings.public_rate_limit)
        self.items: dict[str, limits.RateLimitItem] = {}
        self.limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))

    def _item_of(self, view: Callable) -> limits.RateLimitItem | None:
        setting = getattr(view, "_desa_rate_limit", None)
        if setting is not None:
            if setting not in self.items:
                self.items[setting] = limits.parse(getattr(self.settings, setting))
            return self.items[setting]
        return self.item if getattr(view, "_desa_public", False) else None

    def check(self) -> Response | None:
        if request.method == "OPTIONS":  # a CORS preflight is not a call
            return None
        if request.blueprint == "health":  # probes poll often (make run, kubelet): never 429
            return None
        view = current_app.view_functions.get(request.endpoint or "")
        item = self._item_of(view) if view is not None else None
        if item is None:
            return None
        key = (request.endpoint, request.remote_addr or "unknown")
        if self.limiter.hit(item, *key):
            return None
        reset = self.limiter.get_window_stats(item, *key).reset_time
        response = error_response(429, "too_many_requests",
                                  "Too many requests from your address; try again later.")
        response.headers["Retry-After"] = str(max(1, math.ceil(reset - time.time())))
        return response


def _secure_headers(settings: Settings):
    https = settings.public_url.startswith("https://")

    def add(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        path = request.path
        if path.startswith("/api/") and not path.startswith(_DOC_PATHS):
            headers.setdefault("Content-Security-Policy", API_CSP)
            headers.setdefault("X-Frame-Options", "DENY")
        if request.headers.get("Authorization"):
            headers["Cache-Control"] = "no-store"
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    return add


def install(app: Flask, settings: Settings) -> None:
    limiter = PublicRateLimit(settings)
    app.extensions["desa"]["public_rate_limit"] = limiter
    app.before_request(limiter.check)
    app.after_request(_secure_headers(settings))
    if settings.cors_origins:
        CORS(app, resources={r"/api/*": {"origins": list(settings.cors_origins)}},
             expose_headers=list(EXPOSED_HEADERS), max_age=600)
