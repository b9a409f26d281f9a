"""Tables of the letters database: letters, transitions, attachments, counters, templates and
the read models of residents and villages kept from registry events."""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, query_expression

from services.common.tables import add_kernel_tables


class Base(DeclarativeBase):
    pass


add_kernel_tables(Base.metadata)


def _now() -> sa.FunctionElement:
    return sa.func.now()


class Village(Base):
    """Read model of registry's village (name, letterhead, numbering settings)."""
    __tablename__ = "villages"

    code: Mapped[str] = mapped_column(sa.String(13), primary_key=True)
    data: Mapped[dict] = mapped_column(JSONB)
    source_updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                  server_default=_now())


class Resident(Base):
    """Read model of registry's resident: what a letter prints, kept so letters work while
    registry is down."""
    __tablename__ = "residents"

    nik: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    village_code: Mapped[str] = mapped_column(sa.String(13), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20))
    data: Mapped[dict] = mapped_column(JSONB)
    source_updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                  server_default=_now())


class LetterTypeSetting(Base):
    """A village's switch and classification code for one letter type (default: on)."""
    __tablename__ = "letter_type_settings"

    village_code: Mapped[str] = mapped_column(sa.String(13), primary_key=True)
    type_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    classification_code: Mapped[str | None] = mapped_column(sa.String(12))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=_now())


class TemplateVersion(Base):
    """One version of a village's wording for a letter type. Never updated: edits add rows."""
    __tablename__ = "template_versions"
    __table_args__ = (sa.UniqueConstraint("village_code", "type_code", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    village_code: Mapped[str] = mapped_column(sa.String(13))
    type_code: Mapped[str] = mapped_column(sa.String(40))
    version: Mapped[int] = mapped_column(sa.Integer)
    title: Mapped[str] = mapped_column(sa.String(120))
    body: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=_now())


class NumberCounter(Base):
    """Last letter number used per village, year and series; locked by the signing
    transaction so two signings never share a number."""
    __tablename__ = "number_counters"

    village_code: Mapped[str] = mapped_column(sa.String(13), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    scope_key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(sa.Integer)


class Letter(Base):
    """A letter request and, once signed and issued, the letter (surat keterangan)."""
    __tablename__ = "letters"
    __table_args__ = (
        sa.UniqueConstraint("village_code", "number", name="uq_letters_village_number"),
        sa.Index("ix_letters_queue", "village_code", "status", "requested_at"),
        sa.Index("ix_letters_subject", "subject_nik"),
        sa.Index("ix_letters_signed", "village_code", "signed_at"),
        # The highest sequence a series' letters carry this year (app/numbering.next_seq).
        sa.Index("ix_letters_series", "village_code", "number_year", "classification_code",
                 "number_seq"),
        # Signed letters waiting for their PDF (the issue_pending timer, the parked list).
        sa.Index("ix_letters_issue_pending", "issue_retry_at",
                 postgresql_where=sa.text("status = 'signed'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    village_code: Mapped[str] = mapped_column(sa.String(13))
    type_code: Mapped[str] = mapped_column(sa.String(40))
    classification_code: Mapped[str] = mapped_column(sa.String(12))
    status: Mapped[str] = mapped_column(sa.String(20))
    subject_nik: Mapped[str] = mapped_column(sa.String(40))
    subject_name: Mapped[str] = mapped_column(sa.String(200))
    purpose: Mapped[str | None] = mapped_column(sa.String(300))
    fields: Mapped[dict] = mapped_column(JSONB, default=dict)
    requested_by: Mapped[dict] = mapped_column(JSONB)
    requested_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    number: Mapped[str | None] = mapped_column(sa.String(80))
    number_year: Mapped[int | None] = mapped_column(sa.Integer)
    number_scope: Mapped[str | None] = mapped_column(sa.String(40))
    number_seq: Mapped[int | None] = mapped_column(sa.Integer)
    signed_by: Mapped[dict | None] = mapped_column(JSONB)
    signed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    issued_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    template_version_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("template_versions.id"))
    content: Mapped[dict | None] = mapped_column(JSONB)
    content_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    verification_token: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    pdf_key: Mapped[str | None] = mapped_column(sa.String(200))
    pdf_size: Mapped[int | None] = mapped_column(sa.Integer)
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    # Rendering and storing the PDF of a signed letter: failed attempts, when to try again, the
    # last error, and when it was parked for an operator after too many failures.
    issue_attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    issue_retry_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    issue_error: Mapped[str | None] = mapped_column(sa.String(500))
    issue_parked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    # Not a column: whether the letter has attachments, when the query that loaded it asked
    # (app/letters.py, `load_letter(..., step=True)`); None when it did not.
    has_attachments: Mapped[bool | None] = query_expression()


class LetterTransition(Base):
    """Who moved a letter from one status to another, and when."""
    __tablename__ = "letter_transitions"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    letter_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), sa.ForeignKey("letters.id"),
                                                 index=True)
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    actor: Mapped[dict] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class Attachment(Base):
    """A supporting document (KTP, KK, RT/RW cover letter) kept in object storage."""
    __tablename__ = "letter_attachments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    letter_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), sa.ForeignKey("letters.id"),
                                                 index=True)
    village_code: Mapped[str] = mapped_column(sa.String(13))
    kind: Mapped[str] = mapped_column(sa.String(20))
    filename: Mapped[str | None] = mapped_column(sa.String(200))
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    size: Mapped[int] = mapped_column(sa.Integer)
    content_type: Mapped[str] = mapped_column(sa.String(60))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[dict] = mapped_column(JSONB)
    uploaded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
