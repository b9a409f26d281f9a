"""Signing: the head signs and the letter takes the next number of its series (ADR 0011)."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.common import clock
from services.common.errors import Conflict
from services.common.letter_numbers import check_format
from services.common.outbox import Outbox
from services.letters import catalogue, domain
from services.letters.app.letters import actor_of, load_letter
from services.letters.app.readmodels import village_info
from services.letters.app.requests import record_step
from services.letters.models import NumberCounter


def next_seq(session: Session, village_code: str, year: int, scope_key: str) -> int:
    """Take the next number of a series. The upsert locks the counter row until the signing
    transaction ends, so concurrent signings queue here and a rolled-back one gives its number
    back."""
    stmt = insert(NumberCounter).values(village_code=village_code, year=year,
                                        scope_key=scope_key, last_seq=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["village_code", "year", "scope_key"],
        set_={"last_seq": NumberCounter.__table__.c.last_seq + 1},
    ).returning(NumberCounter.__table__.c.last_seq)
    return session.execute(stmt).scalar_one()


def sign_letter(session: Session, outbox: Outbox, letter_id: str, scope: str | None,
                actor: dict, now: datetime | None = None) -> dict:
    """The head signs: the letter gets its number in this transaction."""
    now = now or clock.now()
    letter = load_letter(session, letter_id, scope, actor, for_update=True)
    previous = letter.status
    new_status = domain.decide_step("sign", letter.status, actor.get("role"))
    village = village_info(session, letter.village_code)
    number_format = village["letter_number_format"]
    check_format(number_format)  # before a number is taken: a broken format wastes none
    signed_on = clock.local_date(now)
    scope_key = domain.counter_scope_key(village["letter_number_scope"], letter.type_code)
    seq = next_seq(session, letter.village_code, signed_on.year, scope_key)
    letter.number = domain.format_number(
        number_format, code=letter.classification_code, seq=seq,
        short_code=village.get("short_code") or letter.village_code.rsplit(".", 1)[-1],
        when=signed_on, type_code=letter.type_code)
    letter.number_year, letter.number_scope, letter.number_seq = signed_on.year, scope_key, seq
    letter.status = new_status
    letter.signed_at = now
    letter.signed_by = {**actor_of(actor), "name": village.get("head_name")
                        or actor.get("username"),
                        "title": f"{village['head_title']} {village['name']}"}
    validity = catalogue.TYPES[letter.type_code].validity_days
    letter.valid_until = signed_on + timedelta(days=validity) if validity else None
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:
        raise Conflict("letter number already used; check the village number format") from exc
    return record_step(session, outbox, letter, previous, actor, now=now)
