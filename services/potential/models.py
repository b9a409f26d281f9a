"""Potential database (and the kernel's outbox, inbox, dead letters): businesses, organisations,
tourism sites, resources, the village profile, posts, albums, photos, follow-ups, the public
search catalogue, and the read models of registry's villages and residents.

Every row that belongs to a village carries `village_code` (ARCHITECTURE rule 5), so the
kernel's tenancy and the generic backup cover every table. Money is BIGINT rupiah.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.tables import add_kernel_tables

VILLAGE_CODE = sa.String(13)


class Base(DeclarativeBase):
    pass


add_kernel_tables(Base.metadata)


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _time(**kwargs) -> Mapped[datetime]:
    return mapped_column(sa.DateTime(timezone=True), **kwargs)


class Village(Base):
    """Read model of registry's village (village.updated): its name and district."""
    __tablename__ = "villages"

    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    district_code: Mapped[str] = mapped_column(sa.String(8))
    district_name: Mapped[str | None] = mapped_column(sa.String(120))
    source_updated_at: Mapped[datetime | None] = _time()
    received_at: Mapped[datetime] = _time(server_default=sa.func.now())


class Resident(Base):
    """Read model of registry's resident: whether an owner or chair lives in the village, so
    registering a business works while registry is down. Name only, no other personal data."""
    __tablename__ = "residents"

    nik: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20))
    source_updated_at: Mapped[datetime | None] = _time()
    received_at: Mapped[datetime] = _time(server_default=sa.func.now())


class Business(Base):
    """A business (UMKM) of the village, classed by PP 7/2021."""
    __tablename__ = "businesses"
    __table_args__ = (sa.Index("ix_businesses_village_sector", "village_code", "sector"),
                      sa.Index("ix_businesses_owner", "owner_nik"))

    id: Mapped[uuid.UUID] = _id()
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE)
    owner_nik: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))
    nib: Mapped[str | None] = mapped_column(sa.String(13))
    kbli: Mapped[str | None] = mapped_column(sa.String(5))
    sector: Mapped[str] = mapped_column(sa.String(20))
    description: Mapped[str | None] = mapped_column(sa.Text)
    products: Mapped[list] = mapped_column(JSONB, default=list)
    workers: Mapped[int] = mapped_column(sa.Integer, default=0)
    capital: Mapped[int | None] = mapped_column(sa.BigInteger)
    yearly_sales: Mapped[int | None] = mapped_column(sa.BigInteger)
    size_class: Mapped[str] = mapped_column(sa.String(8))
    address: Mapped[dict] = mapped_column(JSONB, default=dict)
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    location_warnings: Mapped[list] = mapped_column(JSONB, default=list)
    certifications: Mapped[list] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = _time()
    updated_at: Mapped[datetime] = _time()
    updated_by: Mapped[dict | None] = mapped_column(JSONB)


class Organisation(Base):
    """A village institution (lembaga desa) with its decree (SK), chair, officers, members."""
    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = _id()
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, index=True)
    type: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    decree_number: Mapped[str | None] = mapped_column(sa.String(100))
    decree_date: Mapped[date | None] = mapped_column(sa.Date)
    chair_nik: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    officers: Mapped[list] = mapped_column(JSONB, default=list)  # [{"nik", "position"}]
    members_male: Mapped[int] = mapped_column(sa.Integer, default=0)
    members_female: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = _time()
    updated_at: Mapped[datetime] = _time()
    updated_by: Mapped[dict | None] = mapped_column(JSONB)


class TourismSite(Base):
    """A tourism site (desa wisata attraction) with its development class."""
    __tablename__ = "tourism_sites"

    id: Mapped[uuid.UUID] = _id()
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(20))
    description: Mapped[str | None] = mapped_column(sa.Text)
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    location_warnings: Mapped[list] = mapped_column(JSONB, default=list)
    facilities: Mapped[list] = mapped_column(JSONB, default=list)
    opening_hours: Mapped[str | None] = mapped_column(sa.String(200))
    ticket_price: Mapped[int | None] = mapped_column(sa.BigInteger)
    managed_by: Mapped[str | None] = mapped_column(sa.String(200))
    development_class: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = _time()
    updated_at: Mapped[datetime] = _time()
    updated_by: Mapped[dict | None] = mapped_column(JSONB)


class Resource(Base):
    """A natural resource or facility: a quantity in a unit, for a year."""
    __tablename__ = "resources"
    __table_args__ = (sa.Index("ix_resources_village_kind_year", "village_code", "kind", "year"),)

    id: Mapped[uuid.UUID] = _id()
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[float] = mapped_column(sa.Numeric(14, 2))
    unit: Mapped[str] = mapped_column(sa.String(20))
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    created_at: Mapped[datetime] = _time()
    updated_at: Mapped[datetime] = _time()
    updated_by: Mapped[dict | None] = mapped_column(JSONB)


class Profile(Base):
    """Profil Desa: what the village website shows about the village."""
    __tablename__ = "profiles"

    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, primary_key=True)
    history: Mapped[str | None] = mapped_column(sa.Text)
    vision: Mapped[str | None] = mapped_column(sa.Text)
    mission: Mapped[str | None] = mapped_column(sa.Text)
    area_hectares: Mapped[float | None] = mapped_column(sa.Numeric(12, 2))
    boundaries: Mapped[dict] = mapped_column(JSONB, default=dict)  # north/south/east/west
    officials: Mapped[list] = mapped_column(JSONB, default=list)  # [{name, position, photo_id}]
    latitude: Mapped[float | None] = mapped_column(sa.Float)  # the reference point
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    updated_at: Mapped[datetime] = _time()
    updated_by: Mapped[dict | None] = mapped_column(JSONB)


class Post(Base):
    """News or an announcement; public once published and its time has come."""
    __tablename__ = "posts"
    __table_args__ = (sa.Index("ix_posts_village_published", "village_code", "status",
                               "published_at"),)

    id: Mapped[uuid.UUID] = _id()
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE)
    kind: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    body_format: Mapped[str] = mapped_column(sa.String(10))
    body_html: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10))
    published_at: Mapped[datetime | None] = _time()
    created_at: Mapped[datetime] = _time()
    updated_at: Mapped[datetime] = _time()
    updated_by: Mapped[dict | None] = mapped_column(JSONB)


class Album(Base):
    """A gallery album; public once published."""
    __tablename__ = "albums"

    id: Mapped[uuid.UUID] = _id()
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = _time()
    updated_at: Mapped[datetime] = _time()
    updated_by: Mapped[dict | None] = mapped_column(JSONB)


class Photo(Base):
    """An image of a business, tourism site, post, album or the profile; bytes and thumbnail in
    object storage. Public exactly when what it belongs to is public."""
    __tablename__ = "photos"
    __table_args__ = (sa.Index("ix_photos_owner", "owner_kind", "owner_id"),)

    id: Mapped[uuid.UUID] = _id()
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, index=True)
    owner_kind: Mapped[str] = mapped_column(sa.String(20))
    owner_id: Mapped[str] = mapped_column(sa.String(40))
    object_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    thumbnail_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    thumbnail_sha256: Mapped[str] = mapped_column(sa.String(64))
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    caption: Mapped[str | None] = mapped_column(sa.String(300))
    uploaded_at: Mapped[datetime] = _time()
    uploaded_by: Mapped[dict | None] = mapped_column(JSONB)


class FollowUp(Base):
    """A business whose owner, or an organisation whose chair or officer, died or moved out.
    One row per thing, person and reason: a redelivered or republished event adds nothing."""
    __tablename__ = "follow_ups"
    __table_args__ = (sa.UniqueConstraint("subject_kind", "subject_id", "nik", "reason"),
                      sa.Index("ix_follow_ups_village_open", "village_code", "resolved_at"))

    id: Mapped[uuid.UUID] = _id()
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE)
    subject_kind: Mapped[str] = mapped_column(sa.String(20))  # business | organisation
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    subject_name: Mapped[str] = mapped_column(sa.String(200))
    nik: Mapped[str] = mapped_column(sa.String(40))
    person_name: Mapped[str | None] = mapped_column(sa.String(200))
    roles: Mapped[list] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = _time()
    resolved_at: Mapped[datetime | None] = _time()
    resolved_by: Mapped[dict | None] = mapped_column(JSONB)
    resolution: Mapped[str | None] = mapped_column(sa.String(500))


SEARCH_CONFIG = "simple"


class CatalogueEntry(Base):
    """The public search index: one row per public business, tourism site and organisation,
    written in the same transaction as the thing itself. `search_text` (lower-case name,
    description, products, category) has a word index: its text search vector with the
    `simple` configuration (no stemming, no stop words), for word-prefix queries (decision 0053)."""
    __tablename__ = "catalogue"
    __table_args__ = (
        # fastupdate off: every write merges into the index at once, so a search never scans
        # a pending list (writes are a few a minute; searches are what the public does).
        sa.Index("ix_catalogue_search_words",
                 sa.text(f"to_tsvector('{SEARCH_CONFIG}'::regconfig, search_text)"),
                 postgresql_using="gin", postgresql_with={"fastupdate": "off"}),
        sa.Index("ix_catalogue_kind_district", "kind", "district_code"),
        sa.Index("ix_catalogue_name", "name", "entity_id"),
    )

    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    village_code: Mapped[str] = mapped_column(VILLAGE_CODE, index=True)
    district_code: Mapped[str] = mapped_column(sa.String(8))
    sector: Mapped[str | None] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str | None] = mapped_column(sa.String(300))
    search_text: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = _time()


def search_config() -> sa.ColumnElement:
    return sa.literal_column(f"'{SEARCH_CONFIG}'::regconfig")


def search_vector() -> sa.ColumnElement:
    """The catalogue's words, exactly as `ix_catalogue_search_words` indexes them."""
    return sa.func.to_tsvector(search_config(), CatalogueEntry.search_text)
