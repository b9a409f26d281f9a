"""Transactional outbox: events are rows written in the same transaction as the state change.

The relay (services/common/relay.py) publishes them afterwards; nothing is dispatched straight
after commit (ARCHITECTURE rule 1). Recording also sends a PostgreSQL NOTIFY on the service's
channel: PostgreSQL delivers it only when the transaction commits (once per transaction however
many events it holds), and it wakes the relay at once instead of at its next poll (decision 0095).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.events import SCHEMA_VERSION, make_envelope
from services.common.tables import outbox

_NOTIFY = sa.text("SELECT pg_notify(:channel, '')")


def notify_channel(service_name: str) -> str:
    """The LISTEN/NOTIFY channel on which `service_name`'s relay is woken."""
    return f"desa_outbox_{service_name}"


class Outbox:
    """Records events into a service's outbox table within the caller's transaction."""

    def __init__(self, service_name: str):
        self.service_name = service_name

    def record(self, session: Session, type: str, *, village_code: str | None,
               aggregate_id: str, payload: dict, with_statements: Sequence[sa.Insert] = ()
               ) -> dict:
        """Record one event. `with_statements`: INSERTs of the same change (its audit row, its
        history) sent in the same round trip, as data-modifying CTEs of the outbox INSERT."""
        envelope = make_envelope(source=self.service_name, type=type, village_code=village_code,
                                 aggregate_id=aggregate_id, payload=payload)
        # The NOTIFY rides on the INSERT (its RETURNING): one round trip, not two.
        statement = outbox.insert().values(
            event_id=envelope["event_id"], type=type, village_code=village_code,
            aggregate_id=str(aggregate_id), envelope=envelope) \
            .returning(sa.func.pg_notify(notify_channel(self.service_name), ""))
        for number, companion in enumerate(with_statements):
            statement = statement.add_cte(companion.cte(f"with_{number}"))
        session.execute(statement)
        return envelope

    def record_many(self, session: Session, events: list[dict]) -> list[dict]:
        """Like `record` for many events in one statement (bulk imports); order is kept.

        Each item: {"type", "village_code", "aggregate_id", "payload"}.
        """
        envelopes = [make_envelope(source=self.service_name, type=e["type"],
                                   village_code=e["village_code"],
                                   aggregate_id=e["aggregate_id"], payload=e["payload"])
                     for e in events]
        if envelopes:
            session.execute(outbox.insert(), [
                {"event_id": env["event_id"], "type": env["type"],
                 "village_code": env["village_code"], "aggregate_id": env["aggregate_id"],
                 "envelope": env} for env in envelopes])
            self._wake_relay(session)
        return envelopes

    def record_from_query(self, session: Session, query: str, params: dict) -> int:
        """Like `record_many` for events made by SQL (bulk imports): `query` is a SELECT of the
        columns type, village_code, aggregate_id, payload (jsonb), in the order to record them.
        The envelope is built in the same statement, with the keys `make_envelope` gives
        (tests/integration/registry/test_import_sql_payloads.py holds the two together).
        Returns the number of events recorded."""
        statement = sa.text(f"""
            INSERT INTO outbox (event_id, type, village_code, aggregate_id, envelope)
            SELECT e.event_id, e.type, e.village_code, e.aggregate_id, jsonb_build_object(
                       'event_id', e.event_id::text, 'type', e.type, 'source', :_source,
                       'village_code', e.village_code, 'aggregate_id', e.aggregate_id,
                       'occurred_at', :_occurred_at, 'schema_version', :_schema_version,
                       'payload', e.payload)
            FROM (SELECT gen_random_uuid() AS event_id, q.type,
                         q.village_code, q.aggregate_id::text AS aggregate_id, q.payload,
                         row_number() OVER () AS position
                  FROM ({query}) AS q) AS e
            ORDER BY e.position""")
        count = session.execute(statement, {
            **params, "_source": self.service_name,
            "_occurred_at": datetime.now(UTC).isoformat(),
            "_schema_version": SCHEMA_VERSION}).rowcount
        if count:
            self._wake_relay(session)
        return count

    def _wake_relay(self, session: Session) -> None:
        # Sent at commit, and not at all if the transaction rolls back.
        session.execute(_NOTIFY, {"channel": notify_channel(self.service_name)})
