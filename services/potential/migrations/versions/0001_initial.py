"""initial

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 02:33:22.817248

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.common.migrations import create_kernel_tables, drop_kernel_tables

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # The catalogue's search text has a trigram index (decision 0051).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    create_kernel_tables()
    op.create_table('albums',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_albums_village_code'), 'albums', ['village_code'], unique=False)
    op.create_table('businesses',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('owner_nik', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('nib', sa.String(length=13), nullable=True),
    sa.Column('kbli', sa.String(length=5), nullable=True),
    sa.Column('sector', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('products', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('workers', sa.Integer(), nullable=False),
    sa.Column('capital', sa.BigInteger(), nullable=True),
    sa.Column('yearly_sales', sa.BigInteger(), nullable=True),
    sa.Column('size_class', sa.String(length=8), nullable=False),
    sa.Column('address', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('location_warnings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('certifications', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_businesses_owner', 'businesses', ['owner_nik'], unique=False)
    op.create_index('ix_businesses_village_sector', 'businesses', ['village_code', 'sector'], unique=False)
    op.create_table('catalogue',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.UUID(), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('district_code', sa.String(length=8), nullable=False),
    sa.Column('sector', sa.String(length=20), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'entity_id')
    )
    op.create_index('ix_catalogue_kind_district', 'catalogue', ['kind', 'district_code'], unique=False)
    op.create_index('ix_catalogue_name', 'catalogue', ['name', 'entity_id'], unique=False)
    op.create_index('ix_catalogue_search_trgm', 'catalogue', ['search_text'], unique=False, postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'}, postgresql_with={'fastupdate': 'off'})
    op.create_index(op.f('ix_catalogue_village_code'), 'catalogue', ['village_code'], unique=False)
    op.create_table('follow_ups',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.UUID(), nullable=False),
    sa.Column('subject_name', sa.String(length=200), nullable=False),
    sa.Column('nik', sa.String(length=40), nullable=False),
    sa.Column('person_name', sa.String(length=200), nullable=True),
    sa.Column('roles', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('reason', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('resolution', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject_kind', 'subject_id', 'nik', 'reason')
    )
    op.create_index('ix_follow_ups_village_open', 'follow_ups', ['village_code', 'resolved_at'], unique=False)
    op.create_table('organisations',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('decree_number', sa.String(length=100), nullable=True),
    sa.Column('decree_date', sa.Date(), nullable=True),
    sa.Column('chair_nik', sa.String(length=40), nullable=True),
    sa.Column('officers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('members_male', sa.Integer(), nullable=False),
    sa.Column('members_female', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_organisations_chair_nik'), 'organisations', ['chair_nik'], unique=False)
    op.create_index(op.f('ix_organisations_village_code'), 'organisations', ['village_code'], unique=False)
    op.create_table('photos',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('owner_kind', sa.String(length=20), nullable=False),
    sa.Column('owner_id', sa.String(length=40), nullable=False),
    sa.Column('object_key', sa.String(length=200), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('thumbnail_sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('caption', sa.String(length=300), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('object_key'),
    sa.UniqueConstraint('thumbnail_key')
    )
    op.create_index('ix_photos_owner', 'photos', ['owner_kind', 'owner_id'], unique=False)
    op.create_index(op.f('ix_photos_village_code'), 'photos', ['village_code'], unique=False)
    op.create_table('posts',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_format', sa.String(length=10), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_posts_village_published', 'posts', ['village_code', 'status', 'published_at'], unique=False)
    op.create_table('profiles',
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('history', sa.Text(), nullable=True),
    sa.Column('vision', sa.Text(), nullable=True),
    sa.Column('mission', sa.Text(), nullable=True),
    sa.Column('area_hectares', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('boundaries', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('officials', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('village_code')
    )
    op.create_table('residents',
    sa.Column('nik', sa.String(length=40), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('nik')
    )
    op.create_index(op.f('ix_residents_village_code'), 'residents', ['village_code'], unique=False)
    op.create_table('resources',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_resources_village_kind_year', 'resources', ['village_code', 'kind', 'year'], unique=False)
    op.create_table('tourism_sites',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('location_warnings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('facilities', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('opening_hours', sa.String(length=200), nullable=True),
    sa.Column('ticket_price', sa.BigInteger(), nullable=True),
    sa.Column('managed_by', sa.String(length=200), nullable=True),
    sa.Column('development_class', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_tourism_sites_village_code'), 'tourism_sites', ['village_code'], unique=False)
    op.create_table('villages',
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('district_code', sa.String(length=8), nullable=False),
    sa.Column('district_name', sa.String(length=120), nullable=True),
    sa.Column('source_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('village_code')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('villages')
    op.drop_index(op.f('ix_tourism_sites_village_code'), table_name='tourism_sites')
    op.drop_table('tourism_sites')
    op.drop_index('ix_resources_village_kind_year', table_name='resources')
    op.drop_table('resources')
    op.drop_index(op.f('ix_residents_village_code'), table_name='residents')
    op.drop_table('residents')
    op.drop_table('profiles')
    op.drop_index('ix_posts_village_published', table_name='posts')
    op.drop_table('posts')
    op.drop_index(op.f('ix_photos_village_code'), table_name='photos')
    op.drop_index('ix_photos_owner', table_name='photos')
    op.drop_table('photos')
    op.drop_index(op.f('ix_organisations_village_code'), table_name='organisations')
    op.drop_index(op.f('ix_organisations_chair_nik'), table_name='organisations')
    op.drop_table('organisations')
    op.drop_index('ix_follow_ups_village_open', table_name='follow_ups')
    op.drop_table('follow_ups')
    op.drop_index(op.f('ix_catalogue_village_code'), table_name='catalogue')
    op.drop_index('ix_catalogue_search_trgm', table_name='catalogue', postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})
    op.drop_index('ix_catalogue_kind_district', table_name='catalogue')
    op.drop_index('ix_catalogue_name', table_name='catalogue')
    op.drop_table('catalogue')
    op.drop_index('ix_businesses_village_sector', table_name='businesses')
    op.drop_index('ix_businesses_owner', table_name='businesses')
    op.drop_table('businesses')
    op.drop_index(op.f('ix_albums_village_code'), table_name='albums')
    op.drop_table('albums')
    drop_kernel_tables()
