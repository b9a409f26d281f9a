"""Staff accounts: a head manages their village's office staff, the regency admin every village's
staff and the district admins (decision 0100). Operators and regency admins are managed with
`desa account` only."""
from __future__ import annotations

from flask_smorest import Blueprint

from gateway.auth import current_actor, requires
from gateway.http import json_body, respond
from gateway.rpc import services
from gateway.schemas import ErrorSchema
from services.common import roles
from services.registry.schemas.accounts import (
    AccountCreate,
    AccountDetails,
    AccountListArgs,
    AccountPage,
    PasswordReset,
)

blp = Blueprint("accounts", __name__, url_prefix="/api/v1/accounts",
                description="Staff accounts: list, create, disable, enable, reset a password.")

NOT_YOURS = "An account of another village, or of a role yours does not manage."


@blp.route("", methods=["GET"])
@requires(*roles.ACCOUNT_MANAGERS)
@blp.arguments(AccountListArgs, location="query", error_status_code=400)
@blp.response(200, AccountPage)
def list_accounts(query: dict):
    """The accounts the caller manages: a head their village's officers, secretaries and
    treasurers; the regency admin every village's staff and the district admins."""
    return respond(services().registry.list_accounts(current_actor().as_dict(), **query))


@blp.route("", methods=["POST"])
@requires(*roles.ACCOUNT_MANAGERS)
@blp.arguments(AccountCreate, error_status_code=400)
@blp.response(201, AccountDetails)
@blp.alt_response(403, schema=ErrorSchema,
                  description="A role the caller does not manage, or another village.")
@blp.alt_response(409, schema=ErrorSchema, description="The username is taken.")
def create_account(data: dict):
    return respond(services().registry.create_managed_account(
        json_body(), current_actor().as_dict()), 201)


@blp.route("/<username>", methods=["GET"])
@requires(*roles.ACCOUNT_MANAGERS)
@blp.response(200, AccountDetails)
@blp.alt_response(404, schema=ErrorSchema, description=NOT_YOURS)
def get_account(username: str):
    return respond(services().registry.get_account(username, current_actor().as_dict()))


@blp.route("/<username>/disable", methods=["POST"])
@requires(*roles.ACCOUNT_MANAGERS)
@blp.response(200, AccountDetails)
@blp.alt_response(403, schema=ErrorSchema, description="Your own account.")
@blp.alt_response(404, schema=ErrorSchema, description=NOT_YOURS)
def disable_account(username: str):
    """The account can no longer log in; a token it already holds stops working when it
    expires (DESA_TOKEN_TTL_SECONDS, 15 minutes by default) at the latest."""
    return respond(services().registry.set_account_active(username, False,
                                                          current_actor().as_dict()))


@blp.route("/<username>/enable", methods=["POST"])
@requires(*roles.ACCOUNT_MANAGERS)
@blp.response(200, AccountDetails)
@blp.alt_response(404, schema=ErrorSchema, description=NOT_YOURS)
def enable_account(username: str):
    """The account may log in again; its failed logins and lock are cleared."""
    return respond(services().registry.set_account_active(username, True,
                                                          current_actor().as_dict()))


@blp.route("/<username>/password-reset", methods=["POST"])
@requires(*roles.ACCOUNT_MANAGERS)
@blp.response(200, PasswordReset)
@blp.alt_response(403, schema=ErrorSchema,
                  description="Your own account: change your password with the current one.")
@blp.alt_response(404, schema=ErrorSchema, description=NOT_YOURS)
def reset_password(username: str):
    """A one-time temporary password, shown once; the account's failed logins and lock are
    cleared."""
    return respond(services().registry.reset_account_password(username,
                                                               current_actor().as_dict()))
