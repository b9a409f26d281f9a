"""Residents (penduduk): registering, reading, correcting and searching records."""
from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import audit, batch, clock, rules, versions
from services.common.errors import Conflict, DesaError, NotFound, ValidationFailed
from services.common.fields import load
from services.common.outbox import Outbox
from services.common.tenancy import in_scope
from services.registry import domain, events, identity, models
from services.registry.app import families, reads, records
from services.registry.models import Family, Resident, Village
from services.registry.schemas.residents import (
    ResidentChange,
    ResidentInput,
    ResidentSearchArgs,
    ResidentUpdate,
)

log = logging.getLogger(__name__)

_HISTORY = ResidentChange(many=True)
_NIK_TAKEN = {"nik": ["A resident with this NIK is already registered."]}


def next_temporary_number(session: Session, village_code: str) -> str:
    table = models.TemporaryNumberSequence.__table__
    statement = insert(table).values(village_code=village_code, last_serial=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.village_code],
        set_={"last_serial": table.c.last_serial + 1}).returning(table.c.last_serial)
    return identity.temporary_number(village_code, session.execute(statement).scalar_one())


def _ensure_new_nik(session: Session, nik: str) -> None:
    if session.scalar(sa.select(sa.func.count()).where(Resident.nik == nik)):
        raise Conflict("This NIK is already registered", fields=_NIK_TAKEN)


def new_resident(session: Session, village: Village, data: dict, actor: dict | None,
                 *, within: str | None = None) -> Resident:
    """Insert a validated resident (no event yet). NIK rules run again with the district list."""
    data = dict(data)
    data.pop("family_number", None)
    data.pop("relationship", None)
    nik = data.pop("nik", None)
    address = data.pop("address", None)
    if nik:
        try:
            identity.check_nik(nik, sex=data["sex"], birth_date=data["birth_date"])
        except rules.RuleError as exc:
            if within:
                exc.nested(within)
            raise
        _ensure_new_nik(session, nik)
    else:
        nik = next_temporary_number(session, village.code)
    moment = clock.now()
    resident = Resident(nik=nik, has_nik=not identity.is_temporary_number(nik),
                        village_code=village.code, status=domain.ALIVE, registered_at=moment,
                        updated_at=moment, **records.address_columns(address), **data)
    session.add(resident)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("This NIK is already registered", fields=_NIK_TAKEN) from None
    records.record_change(session, resident,
                          records.registration_changes(events.resident_state(resident)),
                          actor, "registered")
    return resident


def register_resident(session: Session, outbox: Outbox, village_code: str, data: dict,
                      actor: dict | None) -> dict:
    village = records.village(session, village_code)
    payload = load(ResidentInput(), data)
    resident = new_resident(session, village, payload, actor)
    family = None
    if payload.get("family_number"):
        family = families.place(session, resident, payload["family_number"],
                                payload["relationship"], actor)
    state = events.emit_resident(session, outbox, events.RESIDENT_REGISTERED, resident)
    if family is not None:
        events.emit_family(session, outbox, family)
    return state


def get_resident(session: Session, nik: str, scope: str | None, actor: dict | None = None,
                 request_id: str | None = None) -> dict:
    resident = records.resident(session, nik, scope)
    reads.record_reads(session, [resident], actor, reads.READ_PURPOSE, request_id)
    return events.resident_state(resident)


def get_residents(session: Session, items: list) -> list[dict]:
    """Several callers' reads of resident records at once (the gateway's collapsed reads,
    decision 0101), each answered as `get_resident` would answer it alone.

    Each item is `{"nik", "scope", "actor", "request_id", "deadline"}`; its answer is the record
    or its own error (`services.common.batch`): DeadlineExceeded once its deadline passed,
    NotFound for a NIK nobody has or outside its scope, ValidationFailed for a malformed item
    or actor. One select finds every record, one INSERT logs every read in the access log (a
    row per read, with the reader and request of that read).
    """
    items = batch.items_of(items)
    niks = {item.get("nik") for item in items if isinstance(item.get("nik"), str)}
    found = {resident.nik: resident for resident in session.scalars(
        sa.select(Resident).where(Resident.nik.in_(niks)))} if niks else {}
    now = time.time()
    answers: list[dict] = []
    rows: list[dict] = []
    states: dict[str, dict] = {}
    for item in items:
        try:
            answers.append(batch.answered(_read_one(item, found, now, rows, states)))
        except DesaError as exc:
            answers.append(batch.failed(exc))
        except Exception as exc:  # noqa: BLE001 - a bug in one item must not fail the others
            log.exception("batch read of one resident failed")
            answers.append(batch.failed(exc))
    audit.insert_rows(session, rows)
    return answers


def _read_one(item: dict, found: dict[str, Resident], now: float, rows: list[dict],
              states: dict[str, dict]) -> dict:
    batch.check_deadline(item, now)
    nik, scope = item.get("nik"), item.get("scope")
    if not isinstance(nik, str) or not (scope is None or isinstance(scope, str)):
        raise ValidationFailed("Invalid read", fields={"nik": ["A string."],
                                                       "scope": ["A string or null."]})
    resident = found.get(nik)
    if resident is None or not in_scope(scope, resident.village_code):
        raise NotFound("Resident not found")
    actor = item.get("actor")
    if actor is not None:
        rows.extend(reads.read_rows([resident], reads.reader_of(actor), reads.READ_PURPOSE,
                                    batch.request_id_of(item)))
    if nik not in states:
        states[nik] = events.resident_state(resident)
    return states[nik]


def _replace_temporary_number(session: Session, outbox: Outbox, resident: Resident, nik: str,
                              merged: dict, actor: dict | None) -> None:
    identity.check_replaceable(resident.has_nik)
    identity.check_nik(nik, sex=merged["sex"], birth_date=merged["birth_date"])
    _ensure_new_nik(session, nik)
    old = resident.nik
    resident.nik, resident.has_nik = nik, True
    # Children registered with the temporary number as a parent's number now point at the NIK.
    for column in ("father_nik", "mother_nik"):
        children = session.scalars(sa.select(Resident).where(
            getattr(Resident, column) == old).with_for_update()).all()
        for child in children:
            setattr(child, column, nik)
            child.updated_at = clock.now()
            session.flush()
            records.record_change(session, child, {column: [old, nik]}, actor,
                                  "parent_nik_issued")
            events.emit_resident(session, outbox, events.RESIDENT_UPDATED, child)


def update_resident(session: Session, outbox: Outbox, nik: str, changes: dict,
                    scope: str | None, actor: dict | None, if_match: str | None = None) -> dict:
    """A change of the record; with `if_match` (the version it was made from) refused with 412
    when the record was changed since (decision 0099)."""
    resident = records.resident(session, nik, scope, lock=True)
    versions.check_unchanged(resident.updated_at, if_match, "Resident")
    payload = load(ResidentUpdate(), changes)
    new_nik = payload.pop("nik", None)
    address = payload.pop("address", None) or {}
    proposed = {**payload, **address}
    merged = {name: proposed.get(name, getattr(resident, name))
              for name in ("sex", "birth_date")}
    diff = {name: [getattr(resident, name), value] for name, value in proposed.items()
            if getattr(resident, name) != value}
    if resident.has_nik and "sex" in diff:
        # The day of the NIK says the sex; a record cannot disagree with its own NIK.
        identity.check_nik(resident.nik, sex=merged["sex"])
    if new_nik and new_nik != resident.nik:
        diff["nik"] = [resident.nik, new_nik]
        diff["has_nik"] = [resident.has_nik, True]
        _replace_temporary_number(session, outbox, resident, new_nik, merged, actor)
    if not diff:
        return events.resident_state(resident)
    for name, value in proposed.items():
        setattr(resident, name, value)
    resident.updated_at = clock.now()
    session.flush()
    records.record_change(session, resident, diff, actor, "updated")
    state = events.emit_resident(session, outbox, events.RESIDENT_UPDATED, resident,
                                 previous_nik=diff["nik"][0] if "nik" in diff else None)
    if "nik" in diff and resident.family_number:
        # The card lists its members by NIK.
        family = session.scalar(sa.select(Family).where(Family.number == resident.family_number))
        if family is not None:
            events.emit_family(session, outbox, family)
    return state


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _matching(text: str, scanned: bool = False) -> sa.ColumnElement[bool]:
    """`q`: the start of a NIK (or temporary number), or any part of the name, whatever its
    accents and case ("nunez" finds "Núñez"). Names hold no digits (the register's rule), so
    digits alone search NIKs only, and letters alone names only: each one index (0007).

    `scanned`: the test is made on every entry of a village's index (0092), not through the
    trigram index, so it may fold an all-ASCII name with lower() alone: unaccent changes no
    ASCII text (every rule of unaccent.rules starts from a non-ASCII letter), and lower() is
    about 30 times cheaper on a village's 5,000 names."""
    pattern = _like_escape(text)
    by_nik = Resident.nik.like(f"{pattern}%", escape="\\")
    if text.isdigit():
        return by_nik
    # `||`, not concat() (only STABLE): the pattern must fold to a constant for the index.
    folded = sa.literal("%", sa.String) + sa.func.desa_fold(pattern, type_=sa.String) + "%"
    name = sa.func.desa_fold(Resident.name, type_=sa.String)
    if scanned:
        name = sa.case((sa.func.octet_length(Resident.name) == sa.func.length(Resident.name),
                        sa.func.lower(Resident.name)), else_=name)
    by_name = name.like(folded, escape="\\")
    return sa.or_(by_name, by_nik) if any(char.isdigit() for char in text) else by_name


# A search across the regency takes at most this many matches (and says when there are more).
SEARCH_TOTAL_CAP = 1_000
_NAME_ORDER = (sa.func.lower(Resident.name), Resident.id)


def _opaque(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """`condition` as a filter on the entries of a village's name index: `(...) IS true` is the
    same test, but no index answers it, so the planner reads the village's few thousand
    entries (index only: name and NIK are in it) instead of the trigram index of the whole
    regency (decision 0092)."""
    return condition.is_(sa.true())


def _page_of(session: Session, conditions: list, offset: int, limit: int,
             cap: int | None = None) -> tuple[list, int]:
    """The page `offset`, `limit` of the residents meeting `conditions` in name order, and how
    many there are (at most `cap` + 1 when `cap` is given), in one statement: the matches
    (ids and sort keys) are collected once (MATERIALIZED, so the planner cannot trade the
    indexes of `conditions` for a walk of the name order, which reads most of the regency
    when the matches cluster in one place of the alphabet, as a first name does), counted,
    sorted, and only the page's rows are read."""
    found = sa.select(Resident.id, sa.func.lower(Resident.name).label("key")).where(*conditions)
    if cap is not None:
        found = found.limit(cap + 1)  # one more than the cap: are there more?
    found = found.cte("found").prefix_with("MATERIALIZED")
    counted = sa.select(sa.func.count()).select_from(found).scalar_subquery()
    shown = found
    if cap is not None:  # the first `cap` collected (a materialized CTE is read in its order)
        shown = sa.select(found.c.id, found.c.key).limit(cap).subquery()
    keys = (sa.select(shown.c.id, shown.c.key).order_by(shown.c.key, shown.c.id)
            .limit(limit).offset(offset).subquery())
    rows = session.execute(sa.select(Resident, counted.label("total"))
                           .join(keys, Resident.id == keys.c.id)
                           .order_by(keys.c.key, keys.c.id)).all()
    if rows:
        return [row[0] for row in rows], rows[0][1]
    return [], session.scalar(sa.select(counted)) if offset else 0


def search_residents(session: Session, village_code: str | None, q: str | None = None,
                     dusun: str | None = None, rw: str | None = None, rt: str | None = None,
                     status: str | None = None, page: int = 1, per_page: int = 20,
                     actor: dict | None = None, request_id: str | None = None) -> dict:
    """One page of residents in name order; each resident on it gets an access-log line.

    Within a village every match is counted and sorted. Across the regency (a regency admin's
    search) at most SEARCH_TOTAL_CAP matches are taken: with more, `total` is the cap,
    `total_capped` is true and the pages hold those 1,000 in name order, not the regency's
    alphabetically first (a fragment such as "dayat" matches 21,500 people, whose count and
    sort took more than a second); the caller should narrow the search."""
    args = load(ResidentSearchArgs(), {
        "q": q, "dusun": dusun, "rw": rw, "rt": rt, "status": status, "page": page,
        "per_page": per_page})
    conditions = []
    if args["dusun"]:
        conditions.append(sa.func.lower(Resident.dusun) == args["dusun"].strip().lower())
    for name in ("rw", "rt", "status"):
        if args[name]:
            conditions.append(getattr(Resident, name) == args[name])
    text = (args["q"] or "").strip()
    offset, limit = (args["page"] - 1) * args["per_page"], args["per_page"]
    capped = False
    if village_code is not None:
        records.village(session, village_code)
        conditions.append(Resident.village_code == village_code)
        if text:
            items, total = _page_of(session, [*conditions, _opaque(_matching(text, True))],
                                    offset, limit)
        else:
            # The village's list: counted and paged off its name index (0010).
            total = session.scalar(sa.select(sa.func.count()).select_from(Resident)
                                   .where(*conditions))
            keys = (sa.select(Resident.id).where(*conditions).order_by(*_NAME_ORDER)
                    .limit(limit).offset(offset).subquery())
            items = list(session.scalars(sa.select(Resident).join(keys, Resident.id == keys.c.id)
                                         .order_by(*_NAME_ORDER))) if offset < total else []
    else:
        if text:
            conditions.append(_matching(text))
        # Which 1,000 of many matches must not change from one page to the next: one process
        # reads the matches in the table's order (no parallel workers, no scan joining
        # another one midway).
        session.execute(sa.text("SELECT set_config('max_parallel_workers_per_gather', '0', true),"
                                " set_config('synchronize_seqscans', 'off', true)"))
        items, total = _page_of(session, conditions, offset, limit, cap=SEARCH_TOTAL_CAP)
        capped = total > SEARCH_TOTAL_CAP
        total = min(total, SEARCH_TOTAL_CAP)
    reads.record_reads(session, items, actor, reads.SEARCH_PURPOSE, request_id)
    return {"items": [events.resident_state(r) for r in items], "total": total,
            "total_capped": capped, "page": args["page"], "per_page": args["per_page"]}


def resident_history(session: Session, nik: str, scope: str | None, actor: dict | None = None,
                     request_id: str | None = None) -> list[dict]:
    resident = records.resident(session, nik, scope)
    reads.record_reads(session, [resident], actor, reads.HISTORY_PURPOSE, request_id)
    return _HISTORY.dump(session.scalars(sa.select(models.ResidentChange).where(
        models.ResidentChange.resident_id == resident.id).order_by(models.ResidentChange.id)))
