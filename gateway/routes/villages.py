"""Villages (desa): the public list and profile, and each village's settings."""
from __future__ import annotations

from datetime import date

from flask_smorest import Blueprint

from gateway import readiness
from gateway.auth import current_actor, public, requires, scope_for
from gateway.http import json_body, respond
from gateway.rpc import services
from gateway.schemas import ErrorSchema, ReadinessQuery, ReadinessRow
from services.common import roles
from services.common.errors import NotFound
from services.registry.schemas.overview import PopulationStatistics
from services.registry.schemas.villages import (
    Village,
    VillageListArgs,
    VillagePage,
    VillageSettingsUpdate,
)

blp = Blueprint("villages", __name__, url_prefix="/api/v1",
                description="The villages of the regency (public) and their settings.")


@blp.route("/villages", methods=["GET"])
@public
@blp.arguments(VillageListArgs, location="query", error_status_code=400)
@blp.response(200, VillagePage)
def list_villages(query: dict):
    return respond(services().registry.list_villages(
        district_code=query.get("district_code"), page=query["page"],
        per_page=query["per_page"]))


@blp.route("/villages/<code>", methods=["GET"])
@public
@blp.response(200, Village)
@blp.alt_response(404, schema=ErrorSchema)
def get_village(code: str):
    return respond(services().registry.get_village(code))


@blp.route("/villages/<code>", methods=["PATCH"])
@requires(*roles.VILLAGE_SETTINGS_EDITORS)
@blp.arguments(VillageSettingsUpdate, error_status_code=400)
@blp.response(200, Village)
@blp.alt_response(403, schema=ErrorSchema)
def update_village(changes: dict, code: str):
    """Change a village's settings: the regency admin for any village, a head for their own."""
    actor = current_actor()
    scope_for(actor, code)
    return respond(services().registry.update_village(code, json_body(), actor.as_dict()))


@blp.route("/public/villages/<code>/statistics", methods=["GET"])
@public
@blp.response(200, PopulationStatistics)
@blp.alt_response(404, schema=ErrorSchema)
def population_statistics(code: str):
    """Living residents by sex, age group, education and occupation (aggregates, no login)."""
    return respond(services().registry.population_statistics(code))


@blp.route("/districts/<district>/readiness", methods=["GET"])
@requires(*roles.READINESS_READERS)
@blp.arguments(ReadinessQuery, location="query", error_status_code=400)
@blp.response(200, ReadinessRow(many=True))
@blp.alt_response(404, schema=ErrorSchema)
def district_readiness(query: dict, district: str):
    """The district's villages: internet, website, letters online, Dana Desa realisation
    (aggregates, no personal data). A district admin reads only their own district."""
    rows = readiness.readiness_rows(query["year"] or date.today().year, district)
    if not rows:
        raise NotFound("No village of the regency is in this district.")
    return respond(rows)
