"""Families (Kartu Keluarga): registering a family card and reading it with its members."""
from __future__ import annotations

from flask_smorest import Blueprint

from gateway.auth import current_actor, requires, scope_for
from gateway.http import json_body, respond
from gateway.rpc import services
from gateway.schemas import ErrorSchema
from services.common import roles
from services.registry.schemas.families import Family, FamilyInput
from services.registry.schemas.overview import FamilyListArgs, FamilyPage

blp = Blueprint("families", __name__, url_prefix="/api/v1",
                description="Family cards (Kartu Keluarga) with membership history.")


@blp.route("/villages/<code>/families", methods=["POST"])
@requires(*roles.RESIDENT_MANAGERS)
@blp.arguments(FamilyInput, error_status_code=400)
@blp.response(201, Family)
@blp.alt_response(409, schema=ErrorSchema)
def register_family(data: dict, code: str):
    actor = current_actor()
    scope_for(actor, code)
    return respond(services().registry.register_family(code, json_body(), actor.as_dict()), 201)


@blp.route("/families/<number>", methods=["GET"])
@requires(*roles.RESIDENT_MANAGERS)
@blp.response(200, Family)
@blp.alt_response(404, schema=ErrorSchema)
def get_family(number: str):
    """A family card with its members; every member's record counts as read (UU 27/2022 PDP)."""
    actor = current_actor()
    return respond(services().registry.get_family(number, scope_for(actor), actor.as_dict()))


@blp.route("/villages/<code>/families", methods=["GET"])
@requires(*roles.RESIDENT_MANAGERS)
@blp.arguments(FamilyListArgs, location="query", error_status_code=400)
@blp.response(200, FamilyPage)
def list_families(query: dict, code: str):
    """The village's family cards, by head's name: search by No. KK prefix or head's name."""
    actor = current_actor()
    scope_for(actor, code)
    return respond(services().registry.list_families(
        code, query["q"], query["page"], query["per_page"], actor.as_dict()))
