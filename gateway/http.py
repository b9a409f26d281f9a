"""Small helpers the route modules share: the app's settings, JSON responses and the body."""
from __future__ import annotations

from flask import Response, current_app, jsonify, request

from services.common.config import Settings


def app_settings() -> Settings:
    """The settings this gateway app was created with (create_app)."""
    return current_app.extensions["desa"]["settings"]


def respond(data, status: int = 200) -> Response:
    """A JSON response of a service's own dict, as the service returned it.

    Views return a Response so flask-smorest does not re-dump the service's JSON-ready dict
    through the schema (the schema documents it; dates are already ISO strings).
    """
    response = jsonify(data)
    response.status_code = status
    return response


def if_match() -> str | None:
    """The version a change was made from: the `If-Match` header's ETag, unquoted. None when
    absent or `*` (no check: the change applies to whatever is current)."""
    value = request.headers.get("If-Match", "").strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    return None if value in ("", "*") else value


def versioned(data, status: int = 200) -> Response:
    """`respond`, with the record's version as its ETag (its `updated_at`): a client sends it
    back as `If-Match` so that its change is refused (412) if someone saved in between."""
    response = respond(data, status)
    if isinstance(data, dict) and data.get("updated_at"):
        response.headers["ETag"] = f'"{data["updated_at"]}"'
    return response


def json_body() -> dict:
    """The request body exactly as the client sent it.

    Called after `@blp.arguments(Schema)` validated it at the edge; services load the same JSON
    with the same schema, so what reaches them is the client's data in the contract's form.
    """
    return request.get_json()
