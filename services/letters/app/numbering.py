"""Signing: the head signs and the letter takes the next number of its series (ADR 0011, 0013)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
from services.letters.models import Letter, NumberCounter

COUNTERS = NumberCounter.__table__.c
NUMBER_CONSTRAINT = "uq_letters_village_number"
# Numbers skipped because another letter already prints them, before the signing gives up.
# Series continue after what their letters already carry (next_seq), so only a format whose
# numbers can equal another series' text, or a signing racing a settings change, gets here.
MAX_NUMBER_CLASHES = 50


def _series_members(village_code: str, year: int, scope_key: str) -> sa.ColumnElement:
    """The letters already numbered this year that belong to a series."""
    where = sa.and_(Letter.village_code == village_code, Letter.number_year == year)
    if scope_key == domain.VILLAGE_SERIES:
        return where
    if scope_key.startswith(domain.CODE_SERIES_PREFIX):
        code = scope_key.removeprefix(domain.CODE_SERIES_PREFIX)
        return sa.and_(where, Letter.classification_code == code)
    return sa.and_(where, Letter.type_code == scope_key)


def next_seq(session: Session, village_code: str, year: int, scope_key: str
             ) -> tuple[int, datetime]:
    """Take the next number of a series, and the database server's clock once it is taken.
    The update (or the insert of a new series) locks the counter row until the signing
    transaction ends, so concurrent signings queue here and a rolled-back one gives its number
    back. The clock is read by the same statement's RETURNING, evaluated after the row is
    locked and updated (one round trip, not two): one clock for every letters process, read
    after the lock is held.

    The next number is also above every sequence the series' letters already carry this year:
    after the village changed its scope or format, a series continues past the numbers another
    series printed meanwhile instead of printing them again (one index lookup)."""
    used = sa.select(sa.func.coalesce(sa.func.max(Letter.number_seq), 0)) \
        .where(_series_members(village_code, year, scope_key)).scalar_subquery()
    key = (COUNTERS.village_code == village_code) & (COUNTERS.year == year) \
        & (COUNTERS.scope_key == scope_key)
    taken = session.execute(sa.update(NumberCounter).where(key)
                            .values(last_seq=sa.func.greatest(COUNTERS.last_seq, used) + 1)
                            .returning(COUNTERS.last_seq, _CLOCK)).first()
    if taken is not None:
        return taken[0], taken[1].astimezone(UTC)
    stmt = insert(NumberCounter).values(village_code=village_code, year=year,
                                        scope_key=scope_key, last_seq=used + 1)
    stmt = stmt.on_conflict_do_update(  # another signing started the series first
        index_elements=["village_code", "year", "scope_key"],
        set_={"last_seq": sa.func.greatest(COUNTERS.last_seq, used) + 1},
    ).returning(COUNTERS.last_seq, _CLOCK)
    seq, at = session.execute(stmt).one()
    return seq, at.astimezone(UTC)


def _give_back(session: Session, village_code: str, year: int, scope_key: str) -> None:
    """Undo this transaction's `next_seq` (the counter row is still locked by it)."""
    session.execute(sa.update(NumberCounter).where(
        (COUNTERS.village_code == village_code) & (COUNTERS.year == year)
        & (COUNTERS.scope_key == scope_key)).values(last_seq=COUNTERS.last_seq - 1))


# The database server's clock at the statement's evaluation (not at the transaction's start).
_CLOCK = sa.func.clock_timestamp().label("taken_at")


def _number_clash(exc: sa.exc.IntegrityError) -> bool:
    return getattr(getattr(exc.orig, "diag", None), "constraint_name", None) == NUMBER_CONSTRAINT


def sign_letter(session: Session, outbox: Outbox, letter_id: str, scope: str | None,
                actor: dict, now: datetime | None = None) -> dict:
    """The head signs: the letter gets its number in this transaction.

    The signing time is read after the counter lock is held, so within a series a later number
    never has an earlier time and the register (Buku Agenda, ordered by time) lists 005 before
    006."""
    letter = load_letter(session, letter_id, scope, actor, step=True)
    attachments = [] if letter.has_attachments is False else None  # before a flush expires it
    previous = letter.status
    new_status = domain.decide_step("sign", letter.status, actor.get("role"))
    village = village_info(session, letter.village_code)
    number_format = village["letter_number_format"]
    check_format(number_format)  # before a number is taken: a broken format wastes none
    scope_key = domain.counter_scope_key(village["letter_number_scope"], number_format,
                                         letter.type_code, letter.classification_code)
    short_code = village.get("short_code") or letter.village_code.rsplit(".", 1)[-1]
    year = clock.local_date(now or clock.now()).year  # checked again once the lock is held
    for _ in range(MAX_NUMBER_CLASHES):
        seq, database_now = next_seq(session, letter.village_code, year, scope_key)
        signed_at = now or database_now
        signed_on = clock.local_date(signed_at)
        if signed_on.year != year:  # the year turned while this signing waited for the lock
            _give_back(session, letter.village_code, year, scope_key)
            year = signed_on.year
            continue
        number = domain.format_number(number_format, code=letter.classification_code, seq=seq,
                                      short_code=short_code, when=signed_on,
                                      type_code=letter.type_code)
        try:
            with session.begin_nested():
                _write_signature(letter, village, actor, new_status, number, year, scope_key,
                                 seq, signed_at, signed_on)
                session.flush()
            break
        except sa.exc.IntegrityError as exc:
            if not _number_clash(exc):
                raise
            # Another letter prints this exact number (a format changed mid-year): this
            # sequence is burnt for good, try the next one.
    else:
        raise Conflict("no free letter number found; check the village number format",
                       fields={"letter_number_format": [number_format]})
    return record_step(session, outbox, letter, previous, actor, now=signed_at,
                       attachments=attachments)


def _write_signature(letter: Letter, village: dict, actor: dict, new_status: str, number: str,
                     year: int, scope_key: str, seq: int, signed_at: datetime,
                     signed_on) -> None:
    letter.number = number
    letter.number_year, letter.number_scope, letter.number_seq = year, scope_key, seq
    letter.status = new_status
    # record_step sets the same moment afterwards: set here, it adds no UPDATE of its own.
    letter.signed_at = letter.updated_at = signed_at
    letter.signed_by = {**actor_of(actor), "name": village.get("head_name")
                        or actor.get("username"),
                        "title": f"{village['head_title']} {village['name']}"}
    validity = catalogue.TYPES[letter.type_code].validity_days
    letter.valid_until = signed_on + timedelta(days=validity) if validity else None
