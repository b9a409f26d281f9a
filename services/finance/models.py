"""Finance database (and the kernel's outbox, inbox, dead letters): budgets with lines and
approved versions, payment requests with their steps and evidence, cash entries (append-only),
counters and closed months.

Every row that belongs to a village carries `village_code` (ARCHITECTURE rule 5). Money is
BIGINT rupiah: a regency's Dana Desa total does not fit in 32 bits.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.tables import add_kernel_tables

VILLAGE_CODE = sa.String(13)


class Base(DeclarativeBase):
    pass


add_kernel_tables(Base.metadata)


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _money(**kwargs) -> Mapped[int]:
    return mapped_column(sa.BigInteger, **kwargs)


class Village(Base):
    """Read model of the registry's village (from `village.updated`): its name and district,
    so the regency's view names every village, those without a budget too."""
    __tablename__ = "villages"

    code: Mapped[str] = mapped_column(VILLAGE_CODE, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    district_code: Mapped[str | None] = mapped_column(sa.String(8), index=True)
    district_name: Mapped[str | None] = mapped_column(sa.String(100))
    data: Mapped[dict] = mapped_column(JSONB)
    source_updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                  server_default=sa.func.now())


class Budget(Base):
    """APBDes of one village and year: one row, whose status and version move forward."""
    __tablename__ = "budgets"
    __table_args__ = (sa.UniqueConstraint("village_code", "year"),)

    id: Mapped[uuid.UUID] = _id()
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE)
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    status: Mapped[str] = mapped_column(sa.String(12))
    version: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    created_by: Mapped[dict | None] = mapped_column(JSONB)

    lines: Mapped[list[BudgetLine]] = orm.relationship(
        back_populates="budget", order_by="BudgetLine.position")


class BudgetLine(Base):
    """One line: account, activity (spending only), source and amount. `approved_amount` is
    the amount in the last approved version (what spending may use during an amendment)."""
    __tablename__ = "budget_lines"
    __table_args__ = (sa.CheckConstraint("amount > 0", name="budget_line_amount_positive"),)

    id: Mapped[uuid.UUID] = _id()
    budget_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("budgets.id"), index=True)
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, index=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    account_code: Mapped[str] = mapped_column(sa.String(20))
    activity_code: Mapped[str | None] = mapped_column(sa.String(12))
    source: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[int] = _money()
    approved_amount: Mapped[int] = _money(default=0)
    description: Mapped[str | None] = mapped_column(sa.String(300))

    budget: Mapped[Budget] = orm.relationship(back_populates="lines")


class BudgetVersion(Base):
    """The lines and totals as approved: version 1 the original, 2 the amendment."""
    __tablename__ = "budget_versions"
    __table_args__ = (sa.UniqueConstraint("budget_id", "version"),)

    id: Mapped[uuid.UUID] = _id()
    budget_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("budgets.id"))
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, index=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    version: Mapped[int] = mapped_column(sa.SmallInteger)
    status: Mapped[str] = mapped_column(sa.String(12))
    lines: Mapped[list] = mapped_column(JSONB)
    totals: Mapped[dict] = mapped_column(JSONB)
    approved_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    approved_by: Mapped[dict | None] = mapped_column(JSONB)


class PaymentRequest(Base):
    """Surat Permintaan Pembayaran (SPP): direct (LS) or an advance (UM)."""
    __tablename__ = "payment_requests"
    __table_args__ = (sa.UniqueConstraint("village_code", "year", "number"),
                      sa.CheckConstraint("amount > 0", name="payment_request_amount_positive"),
                      sa.Index("ix_payment_requests_line_status", "line_id", "status"))

    id: Mapped[uuid.UUID] = _id()
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, index=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    number: Mapped[str] = mapped_column(sa.String(40))
    line_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("budget_lines.id"))
    kind: Mapped[str] = mapped_column(sa.String(2))
    status: Mapped[str] = mapped_column(sa.String(12))
    amount: Mapped[int] = _money()
    payee: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.String(500))
    taxes: Mapped[list] = mapped_column(JSONB, default=list)  # [{"code", "amount"}]
    filed_by: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    paid_on: Mapped[date | None] = mapped_column(sa.Date)
    method: Mapped[str | None] = mapped_column(sa.String(4))
    settled_on: Mapped[date | None] = mapped_column(sa.Date)
    actual_amount: Mapped[int | None] = _money(nullable=True)
    reject_reason: Mapped[str | None] = mapped_column(sa.String(500))

    line: Mapped[BudgetLine] = orm.relationship()
    steps: Mapped[list[PaymentRequestStep]] = orm.relationship(
        order_by="PaymentRequestStep.at", back_populates="request")
    evidence: Mapped[list[Evidence]] = orm.relationship(
        order_by="Evidence.uploaded_at", back_populates="request")


class PaymentRequestStep(Base):
    """Who moved a request from one status to the next, when and why (never updated)."""
    __tablename__ = "payment_request_steps"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("payment_requests.id"),
                                                  index=True)
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE)
    step: Mapped[str] = mapped_column(sa.String(12))
    from_status: Mapped[str | None] = mapped_column(sa.String(12))
    to_status: Mapped[str] = mapped_column(sa.String(12))
    actor: Mapped[dict | None] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))

    request: Mapped[PaymentRequest] = orm.relationship(back_populates="steps")


class Evidence(Base):
    """A receipt or photo for a payment request; the bytes live in object storage."""
    __tablename__ = "evidence"

    id: Mapped[uuid.UUID] = _id()
    request_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("payment_requests.id"),
                                                  index=True)
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE)
    object_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(60))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[dict | None] = mapped_column(JSONB)
    uploaded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))

    request: Mapped[PaymentRequest] = orm.relationship(back_populates="evidence")


class CashEntry(Base):
    """A receipt or payment in the Buku Kas Umum. Append-only: a database trigger refuses
    UPDATE and DELETE; a correction is a reversal entry (`reverses_id`, once per entry)."""
    __tablename__ = "cash_entries"
    __table_args__ = (
        sa.UniqueConstraint("village_code", "year", "number"),
        sa.CheckConstraint("amount > 0", name="cash_entry_amount_positive"),
        sa.CheckConstraint("kind IN ('receipt', 'payment')", name="cash_entry_kind"),
        sa.Index("ix_cash_entries_village_date", "village_code", "entry_date"),
    )

    id: Mapped[uuid.UUID] = _id()
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE)
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    number: Mapped[int] = mapped_column(sa.Integer)
    entry_date: Mapped[date] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.String(8))
    amount: Mapped[int] = _money()
    account_code: Mapped[str] = mapped_column(sa.String(20))
    line_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("budget_lines.id"),
                                                      index=True)
    method: Mapped[str] = mapped_column(sa.String(4))
    description: Mapped[str] = mapped_column(sa.String(500))
    tax_code: Mapped[str | None] = mapped_column(sa.String(10))
    reference: Mapped[str | None] = mapped_column(sa.String(40))  # NTPN of a tax deposit
    payment_request_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("payment_requests.id"), index=True)
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("cash_entries.id"),
                                                          unique=True)
    posted_by: Mapped[dict | None] = mapped_column(JSONB)
    posted_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class Counter(Base):
    """The last number given in a series (cash entries, payment requests) of a village's year;
    its row is locked while the next number is taken, so two posts never share a number."""
    __tablename__ = "counters"

    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, primary_key=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    series: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    value: Mapped[int] = mapped_column(sa.Integer, default=0)


class ClosedPeriod(Base):
    """A month the treasurer closed, with the book's figures at closing."""
    __tablename__ = "closed_periods"

    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, primary_key=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    month: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    receipts: Mapped[int] = _money()
    payments: Mapped[int] = _money()
    closing_balance: Mapped[int] = _money()
    closed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    closed_by: Mapped[dict | None] = mapped_column(JSONB)
