"""Log in: staff with username and password, residents with NIK and PIN; answers a JWT."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from gateway.auth import current_actor, issue_token, public, requires
from gateway.http import app_settings, respond
from gateway.rpc import services
from gateway.schemas import ErrorSchema, TokenSchema
from gateway.security import body_limit, rate_limit
from services.common import roles
from services.registry.schemas.accounts import Login, PasswordChange

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth",
                description="Log in and receive a short-lived bearer token.")


# Credentials are a few dozen bytes; each attempt costs an argon2 check.
LOGIN_MAX_BYTES = 4 * 1024


@blp.route("/login", methods=["POST"])
@public
@rate_limit("login_rate_limit")
@body_limit(LOGIN_MAX_BYTES)
@blp.arguments(Login, error_status_code=400)
@blp.response(200, TokenSchema)
@blp.alt_response(401, schema=ErrorSchema, description="Wrong username, password, NIK or PIN.")
@blp.alt_response(413, schema=ErrorSchema, description="A body over 4 KiB.")
@blp.alt_response(429, schema=ErrorSchema,
                  description="Locked after repeated failures of this username or NIK, or from "
                              "this address (DESA_LOGIN_FAILURES_PER_KEY, "
                              "DESA_LOGIN_FAILURES_PER_ADDRESS); `fields.locked_until` says "
                              "until when. Or too many attempts from this address "
                              "(DESA_LOGIN_RATE_LIMIT), with Retry-After.")
def login(credentials: dict):
    """Failures are counted per username or NIK (known or not) and per source address."""
    registry = services().registry
    source = request.remote_addr  # the client's, behind DESA_TRUSTED_PROXIES proxies
    if "username" in credentials:
        identity = registry.authenticate_password(credentials["username"],
                                                  credentials["password"], source)
    else:
        identity = registry.authenticate_pin(credentials["nik"], credentials["pin"], source)
    token, ttl = issue_token(identity, app_settings())
    return respond({"access_token": token, "token_type": "Bearer", "expires_in": ttl,
                    "role": identity["role"], "village_code": identity.get("village_code"),
                    "district_code": identity.get("district_code")})


@blp.route("/password", methods=["POST"])
@requires(*roles.STAFF)
@body_limit(LOGIN_MAX_BYTES)
@blp.arguments(PasswordChange, error_status_code=400)
@blp.response(204)
@blp.alt_response(400, schema=ErrorSchema,
                  description="A wrong current password (`fields.current_password`; counted "
                              "like a failed login) or a new one that breaks the rules.")
@blp.alt_response(429, schema=ErrorSchema, description="Locked after repeated failures.")
def change_password(change: dict):
    """A staff user changes their own password; the current one is required. Tokens already
    issued stay valid until they expire."""
    actor = current_actor()
    services().registry.change_password(actor.username, change["current_password"],
                                        change["new_password"], request.remote_addr)
    return "", 204
