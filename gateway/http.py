"""Small helpers the route modules share: JSON responses and the validated request body."""
from __future__ import annotations

from flask import Response, jsonify, request


def respond(data, status: int = 200) -> Response:
    """A JSON response of a service's own dict, as the service returned it.

    Views return a Response so flask-smorest does not re-dump the service's JSON-ready dict
    through the schema (the schema documents it; dates are already ISO strings).
    """
    response = jsonify(data)
    response.status_code = status
    return response


def json_body() -> dict:
    """The request body exactly as the client sent it.

    Called after `@blp.arguments(Schema)` validated it at the edge; services load the same JSON
    with the same schema, so what reaches them is the client's data in the contract's form.
    """
    return request.get_json()
