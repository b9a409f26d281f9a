"""The audit log of every service (decision 0032): who read or changed whose personal data.

The regency admin reads one service's log, filtered, and verifies every service's hash chains
(the same check as `desa audit verify`).
"""
from __future__ import annotations

from flask_smorest import Blueprint

from gateway.auth import requires
from gateway.http import respond
from gateway.rpc import services
from gateway.schemas import ErrorSchema
from services.common import roles
from services.common.audit import AuditEntriesArgs, AuditEntryPage, AuditVerification
from services.common.config import SERVICES
from services.common.errors import NotFound

blp = Blueprint("audit", __name__, url_prefix="/api/v1",
                description="The audit log of personal data, per service, for the regency.")


@blp.route("/audit/verify", methods=["GET"])
@requires(roles.REGENCY_ADMIN)
@blp.response(200, AuditVerification(many=True),
              description="Per service: its chains, rows, unsealed rows and the first break "
                          "of each broken chain.")
def verify_audit():
    """Check every service's audit chains: a changed, deleted or reordered row is a break."""
    return respond([getattr(services(), name).audit_verify() for name in SERVICES])


@blp.route("/audit/<service>", methods=["GET"])
@requires(roles.REGENCY_ADMIN)
@blp.arguments(AuditEntriesArgs, location="query", error_status_code=400)
@blp.response(200, AuditEntryPage, description="Entries, newest first; NIKs masked.")
@blp.alt_response(404, schema=ErrorSchema)
def audit_entries(query: dict, service: str):
    """Who read or changed whose personal data in one service (registry, letters, finance,
    potential), filtered by village, person, staff account or action."""
    if service not in SERVICES:
        raise NotFound("No such service")
    return respond(getattr(services(), service).audit_entries(**query))
