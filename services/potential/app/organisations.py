"""Organisations (lembaga desa): record, change, list and read; public view has no NIK."""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.fields import load
from services.common.outbox import Outbox
from services.common.pagination import fetch_page
from services.potential import events, schemas
from services.potential.app import records
from services.potential.models import Organisation

_ORGANISATION = schemas.Organisation()
_PUBLIC = schemas.PublicOrganisation()


def _state(org: Organisation, names: dict[str, str]) -> dict:
    return {**{column: getattr(org, column) for column in (
        "village_code", "type", "name", "decree_number", "decree_date", "chair_nik",
        "members_male", "members_female", "created_at", "updated_at")},
        "id": str(org.id), "chair_name": names.get(org.chair_nik),
        "officers": [{**o, "name": names.get(o["nik"])} for o in org.officers or []]}


def _names(session: Session, orgs: list[Organisation]) -> dict[str, str]:
    niks = {o.chair_nik for o in orgs} | {x["nik"] for o in orgs for x in o.officers or []}
    return records.resident_names(session, niks)


def organisation_dict(session: Session, org: Organisation) -> dict:
    return _ORGANISATION.dump(_state(org, _names(session, [org])))


def _people(org: Organisation) -> set[str | None]:
    return {org.chair_nik} | {officer.get("nik") for officer in org.officers or []}


def _save(session: Session, outbox: Outbox, org: Organisation) -> dict:
    session.flush()
    records.catalogue_put(session, "organisation", org.id, org.village_code, name=org.name,
                          summary=org.type, text=records.search_text(org.name, org.type))
    return events.emit_organisation(session, outbox, organisation_dict(session, org))


def create(session: Session, outbox: Outbox, village_code: str, data: dict, scope: str | None,
           actor: dict) -> dict:
    records.check_editor(actor, "record organisations")
    payload = load(schemas.OrganisationCreate(), data)
    records.check_village(village_code, scope)
    org = records.new_record(Organisation, village_code, actor, **payload)
    session.add(org)
    records.audit_change(session, village_code, _people(org), actor, "organisation.recorded")
    return _save(session, outbox, org)


def change(session: Session, outbox: Outbox, org_id: str, data: dict, scope: str | None,
           actor: dict, if_match: str | None = None) -> dict:
    records.check_editor(actor, "change organisations")
    changes = load(schemas.OrganisationChange(), data)
    org = records.load(session, Organisation, org_id, scope, "Organisation", lock=True,
                       if_match=if_match)
    people = _people(org)
    records.apply_changes(org, changes, actor)
    records.audit_change(session, org.village_code, people | _people(org), actor,
                         "organisation.updated")
    return _save(session, outbox, org)


def _audit_reads(session: Session, orgs: list[Organisation], actor: dict | None, purpose: str,
                 request_id: str | None) -> None:
    records.audit_reads(session, [(nik, org.village_code) for org in orgs
                                  for nik in _people(org)], actor, purpose, request_id)


def get(session: Session, org_id: str, scope: str | None, actor: dict | None = None,
        request_id: str | None = None) -> dict:
    org = records.load(session, Organisation, org_id, scope, "Organisation")
    _audit_reads(session, [org], actor, "organisation.read", request_id)
    return organisation_dict(session, org)


def _page(session: Session, village_code: str, query: dict, schema,
          seen: Callable[[list[Organisation]], None] | None = None) -> dict:
    args = load(schemas.OrganisationListArgs(), query)
    stmt = sa.select(Organisation).where(Organisation.village_code == village_code)
    if args["type"]:
        stmt = stmt.where(Organisation.type == args["type"])
    rows, total = fetch_page(session, stmt.order_by(Organisation.type, Organisation.name,
                                                    Organisation.id),
                             args["page"], args["per_page"])
    if seen:
        seen(rows)
    names = _names(session, rows)
    return {"items": [schema.dump(_state(o, names)) for o in rows], "total": total,
            "page": args["page"], "per_page": args["per_page"]}


def list_village(session: Session, village_code: str, query: dict, scope: str | None,
                 actor: dict | None = None, request_id: str | None = None) -> dict:
    records.check_village(village_code, scope)
    return _page(session, village_code, query, _ORGANISATION,
                 lambda rows: _audit_reads(session, rows, actor, "organisation.list", request_id))


def list_public(session: Session, village_code: str, query: dict) -> dict:
    records.check_code(village_code)
    return _page(session, village_code, query, _PUBLIC)
