"""Transactional outbox: events are rows written in the same transaction as the state change.

The relay (services/common/relay.py) publishes them afterwards; nothing is dispatched straight
after commit (ARCHITECTURE rule 1).
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Session

from services.common.events import make_envelope


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox", metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        sa.Column("type", sa.String(80), nullable=False),
        sa.Column("village_code", sa.String(13)),
        sa.Column("aggregate_id", sa.String(80), nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("routed", sa.Boolean),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Index("ix_outbox_unsent", "id", postgresql_where=sa.text("sent_at IS NULL")),
    )


class Outbox:
    """Records events into a service's outbox table within the caller's transaction."""

    def __init__(self, service_name: str, table: sa.Table):
        self.service_name = service_name
        self.table = table

    def record(self, session: Session, type: str, *, village_code: str | None,
               aggregate_id: str, payload: dict) -> dict:
        envelope = make_envelope(source=self.service_name, type=type, village_code=village_code,
                                 aggregate_id=aggregate_id, payload=payload)
        session.execute(self.table.insert().values(
            event_id=envelope["event_id"], type=type, village_code=village_code,
            aggregate_id=str(aggregate_id), envelope=envelope))
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
            session.execute(self.table.insert(), [
                {"event_id": env["event_id"], "type": env["type"],
                 "village_code": env["village_code"], "aggregate_id": env["aggregate_id"],
                 "envelope": env} for env in envelopes])
        return envelopes
