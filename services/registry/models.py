"""Registry database: villages, residents and their history, families, life events, accounts."""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common import letter_numbers
from services.common.tables import add_kernel_tables

DEFAULT_HEAD_TITLE = "Kepala Desa"


class Base(DeclarativeBase):
    pass


add_kernel_tables(Base.metadata)

_now = sa.func.now()


class Village(Base):
    """A desa or kelurahan with its letterhead and digital-readiness settings."""

    __tablename__ = "villages"

    code: Mapped[str] = mapped_column(sa.String(13), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    district_code: Mapped[str] = mapped_column(sa.String(8), index=True)
    district_name: Mapped[str] = mapped_column(sa.String(120))
    regency_code: Mapped[str] = mapped_column(sa.String(5))
    regency_name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(10))
    short_code: Mapped[str] = mapped_column(sa.String(20))
    office_address: Mapped[str | None] = mapped_column(sa.String(300))
    head_name: Mapped[str | None] = mapped_column(sa.String(120))
    head_title: Mapped[str] = mapped_column(sa.String(80), server_default=DEFAULT_HEAD_TITLE)
    secretary_name: Mapped[str | None] = mapped_column(sa.String(120))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    email: Mapped[str | None] = mapped_column(sa.String(120))
    internet_installed: Mapped[bool] = mapped_column(server_default=sa.false())
    digital_services_since: Mapped[date | None]
    website_url: Mapped[str | None] = mapped_column(sa.String(300))
    letter_number_scope: Mapped[str] = mapped_column(sa.String(10), server_default="per_type")
    letter_number_format: Mapped[str] = mapped_column(
        sa.String(120), server_default=letter_numbers.DEFAULT_FORMAT)
    paper_size: Mapped[str] = mapped_column(sa.String(2), server_default="A4")
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)
    # The account that last changed the settings (None: reference data from Kemendagri).
    updated_by: Mapped[str | None] = mapped_column(sa.String(64))


class Resident(Base):
    """A person registered in a village (penduduk). Never deleted: status records what happened."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    # NIK, or a temporary village number until Dukcapil issues one (then replaced once).
    nik: Mapped[str] = mapped_column(sa.String(24), unique=True)
    has_nik: Mapped[bool]
    village_code: Mapped[str] = mapped_column(sa.ForeignKey("villages.code"))
    name: Mapped[str] = mapped_column(sa.String(120))
    sex: Mapped[str] = mapped_column(sa.String(1))
    birth_place: Mapped[str] = mapped_column(sa.String(120))
    birth_date: Mapped[date]
    religion: Mapped[str] = mapped_column(sa.String(20))
    citizenship: Mapped[str] = mapped_column(sa.String(3), server_default="WNI")
    blood_type: Mapped[str | None] = mapped_column(sa.String(12))
    marital_status: Mapped[str] = mapped_column(sa.String(20))
    occupation: Mapped[str | None] = mapped_column(sa.String(120))
    education: Mapped[str | None] = mapped_column(sa.String(120))
    # Current Kartu Keluarga membership, kept in step with family_memberships.
    family_number: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    relationship: Mapped[int | None] = mapped_column(sa.SmallInteger)
    father_name: Mapped[str | None] = mapped_column(sa.String(120))
    father_nik: Mapped[str | None] = mapped_column(sa.String(24))
    mother_name: Mapped[str | None] = mapped_column(sa.String(120))
    mother_nik: Mapped[str | None] = mapped_column(sa.String(24))
    birth_certificate_number: Mapped[str | None] = mapped_column(sa.String(60))
    marriage_certificate_number: Mapped[str | None] = mapped_column(sa.String(60))
    divorce_certificate_number: Mapped[str | None] = mapped_column(sa.String(60))
    ektp_status: Mapped[str | None] = mapped_column(sa.String(40))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    email: Mapped[str | None] = mapped_column(sa.String(120))
    dusun: Mapped[str | None] = mapped_column(sa.String(80))
    rw: Mapped[str | None] = mapped_column(sa.String(3))
    rt: Mapped[str | None] = mapped_column(sa.String(3))
    street: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(12), server_default="alive")
    registered_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                    server_default=_now)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)

    __table_args__ = (
        # The village page's order (search_residents), with the name and NIK in the index so
        # a search within a village tests q on the index alone (migration 0010).
        sa.Index("ix_residents_village_name", "village_code", sa.text("lower(name)"), "id",
                 postgresql_include=["name", "nik"]),
        # Name search: any part of the name, accents and case folded (migration 0007).
        sa.Index("ix_residents_name_folded_trgm", sa.text("desa_fold(name) gin_trgm_ops"),
                 postgresql_using="gin", postgresql_with={"fastupdate": "off"}),
        sa.Index("ix_residents_nik_prefix", "nik", postgresql_ops={"nik": "varchar_pattern_ops"}),
        sa.Index("ix_residents_village_area", "village_code", "dusun", "rw", "rt"),
        sa.CheckConstraint("sex IN ('L', 'P')", name="ck_residents_sex"),
        sa.CheckConstraint("status IN ('alive', 'dead', 'moved_out', 'missing')",
                           name="ck_residents_status"),
    )


class ResidentChange(Base):
    """History of a resident record: who changed what, when, as {field: [old, new]}."""

    __tablename__ = "resident_changes"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("residents.id"), index=True)
    village_code: Mapped[str] = mapped_column(sa.String(13))
    changed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)
    actor: Mapped[dict | None] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(sa.String(40))
    changes: Mapped[dict] = mapped_column(JSONB)


class Family(Base):
    """Kartu Keluarga: the family card. The number never changes; a new card is a new family."""

    __tablename__ = "families"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(16), unique=True)
    village_code: Mapped[str] = mapped_column(sa.ForeignKey("villages.code"), index=True)
    head_id: Mapped[int | None] = mapped_column(sa.ForeignKey("residents.id"))
    dusun: Mapped[str | None] = mapped_column(sa.String(80))
    rw: Mapped[str | None] = mapped_column(sa.String(3))
    rt: Mapped[str | None] = mapped_column(sa.String(3))
    street: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)

    head: Mapped[Resident | None] = orm.relationship(foreign_keys=[head_id])
    memberships: Mapped[list[FamilyMembership]] = orm.relationship(
        back_populates="family", order_by="FamilyMembership.id")


class FamilyMembership(Base):
    """A resident's place in a family card over a period (valid_to NULL: still a member)."""

    __tablename__ = "family_memberships"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    family_id: Mapped[int] = mapped_column(sa.ForeignKey("families.id"), index=True)
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("residents.id"), index=True)
    relationship: Mapped[int] = mapped_column(sa.SmallInteger)
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]

    family: Mapped[Family] = orm.relationship(back_populates="memberships")
    resident: Mapped[Resident] = orm.relationship()

    __table_args__ = (
        # One card at a time: at most one open membership per resident.
        sa.Index("uq_family_memberships_open", "resident_id", unique=True,
                 postgresql_where=sa.text("valid_to IS NULL")),
        sa.CheckConstraint("relationship BETWEEN 1 AND 11", name="ck_family_memberships_shdk"),
    )


class LifeEvent(Base):
    """Mutasi penduduk: birth, death, move out, move in, missing."""

    __tablename__ = "life_events"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("residents.id"), index=True)
    village_code: Mapped[str] = mapped_column(sa.String(13), index=True)
    type: Mapped[str] = mapped_column(sa.String(12))
    event_date: Mapped[date]
    reported_on: Mapped[date]
    details: Mapped[dict] = mapped_column(JSONB)
    actor: Mapped[dict | None] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)


class Account(Base):
    """A staff login: village staff (one village), district_admin (one district), regency_admin
    or operator."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    village_code: Mapped[str | None] = mapped_column(sa.ForeignKey("villages.code"))
    district_code: Mapped[str | None] = mapped_column(sa.String(8))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)
    created_by: Mapped[str | None] = mapped_column(sa.String(64))


class ResidentCredential(Base):
    """A resident's PIN (hash only); failures are counted in `login_failures`."""

    __tablename__ = "resident_credentials"

    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("residents.id"), primary_key=True)
    pin_hash: Mapped[str] = mapped_column(sa.String(200))
    issued_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)
    issued_by: Mapped[str | None] = mapped_column(sa.String(64))


class LoginFailure(Base):
    """Failed logins of one key: a login name as typed (username or NIK) or a source address.

    `key` is a SHA-256 (services/registry/lockout.py), so typed names are not kept in clear.
    """

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    failures: Mapped[int] = mapped_column(server_default="0")
    lockouts: Mapped[int] = mapped_column(server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_failure_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True),
                                                              index=True)


class ImportJob(Base):
    """A CSV import run in the background: queued, running (with progress), then its result.

    The CSV is kept only until the job has run. `report` is the import report (per-row errors,
    or the NIK each line got); `error` the refusal when nothing was imported.
    """

    __tablename__ = "import_jobs"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    village_code: Mapped[str] = mapped_column(sa.ForeignKey("villages.code"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12), index=True)
    dry_run: Mapped[bool]
    csv_text: Mapped[str | None] = mapped_column(sa.Text)
    phase: Mapped[str | None] = mapped_column(sa.String(12))
    rows_total: Mapped[int] = mapped_column(server_default="0")
    rows_done: Mapped[int] = mapped_column(server_default="0")
    attempts: Mapped[int] = mapped_column(server_default="0")
    report: Mapped[dict | None] = mapped_column(JSONB)
    error: Mapped[dict | None] = mapped_column(JSONB)
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class TemporaryNumberSequence(Base):
    """Last serial used for temporary village numbers, one row per village."""

    __tablename__ = "temporary_number_sequences"

    village_code: Mapped[str] = mapped_column(sa.ForeignKey("villages.code"), primary_key=True)
    last_serial: Mapped[int] = mapped_column(server_default="0")
