"""The access log of resident records (UU 27/2022 PDP): who read whose record, when and why."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from marshmallow import ValidationError as SchemaError
from sqlalchemy.orm import Session

from services.common import audit
from services.common.errors import ValidationFailed
from services.common.fields import load
from services.common.pagination import fetch_page
from services.common.tables import audit_log
from services.registry import models
from services.registry.app import records
from services.registry.models import Resident
from services.registry.schemas.residents import Reader, ResidentRead, ResidentReadsArgs

# Why a record was read, as the access log says it (a caller may name its own, see Reader).
READ_PURPOSE = "resident.read"
HISTORY_PURPOSE = "resident.history"
SEARCH_PURPOSE = "resident.search"
FAMILY_PURPOSE = "family.read"

_READ = ResidentRead()
_READER = Reader()  # a schema instance serves any number of loads; making one is not free


def record_reads(session: Session, residents: Iterable[Resident], actor: dict | None,
                 purpose: str, request_id: str | None) -> None:
    """Log that `actor` read these residents' records, in one insert into the audit log.

    Called inside the read's own transaction, so a record is never returned unlogged. Not an
    event: the outbox would copy who-read-whom to every consumer. Without an actor (internal
    callers such as the CLI) nothing is logged.
    """
    if actor is None:
        return
    audit.insert_rows(session, read_rows(residents, reader_of(actor), purpose, request_id))


def reader_of(actor) -> dict:
    """The reader an actor dict names (role, username, nik, purpose), checked; else
    ValidationFailed."""
    if not isinstance(actor, dict):
        raise ValidationFailed("Invalid actor", fields={"actor": ["Not an object."]})
    try:
        return _READER.load(actor)
    except SchemaError as exc:
        raise ValidationFailed("Invalid actor", fields={"actor": exc.messages}) from None


def read_rows(residents: Iterable[Resident], reader: dict, purpose: str,
              request_id: str | None) -> list[dict]:
    """The audit rows of `reader` (from `reader_of`) reading these residents' records, for a
    caller that inserts the rows of several readers at once (`audit.insert_rows`)."""
    return audit.audit_rows([(resident.nik, resident.village_code) for resident in residents],
                            actor=reader, action=audit.READ,
                            purpose=reader["purpose"] or purpose, request_id=request_id)


def resident_reads(session: Session, nik: str, scope: str | None, page: int = 1,
                   per_page: int = 20) -> dict:
    """Who read this resident's record, newest first: the resident's right of access.

    Items carry the reader's role and account name and the purpose, nothing about any other
    resident (a search that listed them is just "resident.search"). Reads under a temporary
    number the record had before its NIK are the same person's.
    """
    args = load(ResidentReadsArgs(), {"page": page, "per_page": per_page})
    resident = records.resident(session, nik, scope)
    query = (sa.select(audit_log)
             .where(audit_log.c.subject_nik.in_(numbers_of(session, resident)),
                    audit_log.c.action == audit.READ)
             .order_by(audit_log.c.at.desc(), audit_log.c.id.desc()))
    items, total = fetch_page(session, query, args["page"], args["per_page"], scalars=False)
    return {"items": [_READ.dump({"read_at": r.at, "role": r.actor_role,
                                  "username": r.actor_username, "purpose": r.purpose})
                      for r in items],
            "total": total, "page": args["page"], "per_page": args["per_page"]}


def numbers_of(session: Session, resident: Resident) -> list[str]:
    """The resident's NIK and the temporary numbers their record had before it (its history)."""
    change = models.ResidentChange
    earlier = session.scalars(
        sa.select(change.changes["nik"][0].astext)
        .where(change.resident_id == resident.id, change.changes.has_key("nik"))).all()
    return [resident.nik, *(number for number in earlier if number)]
