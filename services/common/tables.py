"""The kernel's tables, defined once: every service database has an outbox, inbox,
dead_letters, idempotency_keys and audit_log table of exactly this shape (created by
`migrations.create_kernel_tables`; a kernel table added later by `create_kernel_table`)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

KERNEL = sa.MetaData()

# Events written in the same transaction as the change they describe (ARCHITECTURE rule 1).
outbox = sa.Table(
    "outbox", KERNEL,
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

# Event ids a handler has applied, so a redelivery changes nothing (ARCHITECTURE rule 2).
inbox = sa.Table(
    "inbox", KERNEL,
    sa.Column("event_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("handler", sa.String(120), primary_key=True),
    sa.Column("event_type", sa.String(80), nullable=False),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now()),
)

# Events a handler kept failing on, for an operator to list and replay (ARCHITECTURE rule 3).
dead_letters = sa.Table(
    "dead_letters", KERNEL,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", UUID(as_uuid=False), nullable=False),
    sa.Column("queue", sa.String(200), nullable=False),
    sa.Column("handler", sa.String(120), nullable=False),
    sa.Column("envelope", JSONB, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now()),
)

# Every committed change of every other table, written by the capture triggers in the same
# transaction (services/common/backup/capture.py); the backup shipper sends rows to the backup
# store and deletes them once it holds them (decision 0060).
backup_changes = sa.Table(
    "backup_changes", KERNEL,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("xid", sa.BigInteger, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.text("clock_timestamp()")),
    sa.Column("tbl", sa.String(63), nullable=False),
    sa.Column("op", sa.String(1), nullable=False),
    sa.Column("village", sa.String(20), nullable=False),
    sa.Column("row", JSONB, nullable=False),
)


def add_kernel_tables(metadata: sa.MetaData) -> None:
    """Put the kernel tables into a service's metadata (so Alembic sees its whole schema)."""
    for table in KERNEL.sorted_tables:
        table.to_metadata(metadata)

# Idempotency keys of state-changing calls with their first result (ARCHITECTURE rule 11).
# The result is kept as the JSON text the service returned, so a replay keeps its field order.
idempotency_keys = sa.Table(
    "idempotency_keys", KERNEL,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("operation", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("result", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now()),
    sa.Index("ix_idempotency_keys_created_at", "created_at"),
)

# Who read or changed whose personal data (UU 27/2022 PDP), appended by the request's own
# transaction; `seq` and `hash` are set once, later, by the sealer that chains each village's
# rows (services/common/audit.py, decision 0032). A trigger refuses any other UPDATE or DELETE.
audit_log = sa.Table(
    "audit_log", KERNEL,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("village_code", sa.String(13)),
    sa.Column("subject_nik", sa.String(24), nullable=False),
    sa.Column("action", sa.String(10), nullable=False),
    sa.Column("purpose", sa.String(40), nullable=False),
    sa.Column("actor_role", sa.String(20), nullable=False),
    sa.Column("actor_username", sa.String(64)),
    sa.Column("actor_nik", sa.String(24)),
    sa.Column("request_id", sa.String(128)),
    sa.Column("seq", sa.BigInteger),
    sa.Column("hash", sa.String(64)),
    # The HMAC key the hash was made with (decision 0035); NULL: plain SHA-256 (before keys).
    sa.Column("key_id", sa.String(16)),
    sa.Index("ix_audit_log_subject", "subject_nik", "at"),
    sa.Index("ix_audit_log_chain", "village_code", "seq", unique=True,
             postgresql_nulls_not_distinct=True, postgresql_where=sa.text("seq IS NOT NULL")),
    sa.Index("ix_audit_log_unsealed", "id", postgresql_where=sa.text("seq IS NULL")),
)
