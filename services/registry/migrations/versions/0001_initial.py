"""Initial registry schema: villages, residents and their history, family cards, life events,
staff accounts, resident PINs, temporary-number sequences, and the outbox/inbox/dead-letter tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
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
    create_kernel_tables()
    op.create_table('villages',
    sa.Column('code', sa.String(length=13), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('district_code', sa.String(length=8), nullable=False),
    sa.Column('district_name', sa.String(length=120), nullable=False),
    sa.Column('regency_code', sa.String(length=5), nullable=False),
    sa.Column('regency_name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('short_code', sa.String(length=20), nullable=False),
    sa.Column('office_address', sa.String(length=300), nullable=True),
    sa.Column('head_name', sa.String(length=120), nullable=True),
    sa.Column('head_title', sa.String(length=80), server_default='Kepala Desa', nullable=False),
    sa.Column('secretary_name', sa.String(length=120), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('email', sa.String(length=120), nullable=True),
    sa.Column('internet_installed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('digital_services_since', sa.Date(), nullable=True),
    sa.Column('website_url', sa.String(length=300), nullable=True),
    sa.Column('letter_number_scope', sa.String(length=10), server_default='per_type', nullable=False),
    sa.Column('letter_number_format', sa.String(length=120), server_default='{code}/{seq:03d}/{short_code}/{month_roman}/{year}', nullable=False),
    sa.Column('paper_size', sa.String(length=2), server_default='A4', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_index(op.f('ix_villages_district_code'), 'villages', ['district_code'], unique=False)
    op.create_table('accounts',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['village_code'], ['villages.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('residents',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('nik', sa.String(length=24), nullable=False),
    sa.Column('has_nik', sa.Boolean(), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_place', sa.String(length=120), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('religion', sa.String(length=20), nullable=False),
    sa.Column('citizenship', sa.String(length=3), server_default='WNI', nullable=False),
    sa.Column('blood_type', sa.String(length=12), nullable=True),
    sa.Column('marital_status', sa.String(length=20), nullable=False),
    sa.Column('occupation', sa.String(length=120), nullable=True),
    sa.Column('education', sa.String(length=120), nullable=True),
    sa.Column('family_number', sa.String(length=16), nullable=True),
    sa.Column('relationship', sa.SmallInteger(), nullable=True),
    sa.Column('father_name', sa.String(length=120), nullable=True),
    sa.Column('father_nik', sa.String(length=24), nullable=True),
    sa.Column('mother_name', sa.String(length=120), nullable=True),
    sa.Column('mother_nik', sa.String(length=24), nullable=True),
    sa.Column('birth_certificate_number', sa.String(length=60), nullable=True),
    sa.Column('marriage_certificate_number', sa.String(length=60), nullable=True),
    sa.Column('divorce_certificate_number', sa.String(length=60), nullable=True),
    sa.Column('ektp_status', sa.String(length=40), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('email', sa.String(length=120), nullable=True),
    sa.Column('dusun', sa.String(length=80), nullable=True),
    sa.Column('rw', sa.String(length=3), nullable=True),
    sa.Column('rt', sa.String(length=3), nullable=True),
    sa.Column('street', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=12), server_default='alive', nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("sex IN ('L', 'P')", name='ck_residents_sex'),
    sa.CheckConstraint("status IN ('alive', 'dead', 'moved_out', 'missing')", name='ck_residents_status'),
    sa.ForeignKeyConstraint(['village_code'], ['villages.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('nik')
    )
    op.create_index(op.f('ix_residents_family_number'), 'residents', ['family_number'], unique=False)
    op.create_index('ix_residents_nik_prefix', 'residents', ['nik'], unique=False, postgresql_ops={'nik': 'varchar_pattern_ops'})
    op.create_index('ix_residents_village_area', 'residents', ['village_code', 'dusun', 'rw', 'rt'], unique=False)
    # Search: lower(name) LIKE and NIK prefix (varchar_pattern_ops makes LIKE 'x%' use the index).
    op.create_index('ix_residents_village_name', 'residents', ['village_code', sa.literal_column('lower(name)')], unique=False)
    op.create_table('temporary_number_sequences',
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('last_serial', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['village_code'], ['villages.code'], ),
    sa.PrimaryKeyConstraint('village_code')
    )
    op.create_table('families',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('head_id', sa.BigInteger(), nullable=True),
    sa.Column('dusun', sa.String(length=80), nullable=True),
    sa.Column('rw', sa.String(length=3), nullable=True),
    sa.Column('rt', sa.String(length=3), nullable=True),
    sa.Column('street', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['head_id'], ['residents.id'], ),
    sa.ForeignKeyConstraint(['village_code'], ['villages.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    op.create_index(op.f('ix_families_village_code'), 'families', ['village_code'], unique=False)
    op.create_table('life_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('type', sa.String(length=12), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('actor', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_life_events_resident_id'), 'life_events', ['resident_id'], unique=False)
    op.create_index(op.f('ix_life_events_village_code'), 'life_events', ['village_code'], unique=False)
    op.create_table('resident_changes',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_resident_changes_resident_id'), 'resident_changes', ['resident_id'], unique=False)
    op.create_table('resident_credentials',
    sa.Column('resident_id', sa.BigInteger(), nullable=False),
    sa.Column('pin_hash', sa.String(length=200), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], ),
    sa.PrimaryKeyConstraint('resident_id')
    )
    op.create_table('family_memberships',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('family_id', sa.BigInteger(), nullable=False),
    sa.Column('resident_id', sa.BigInteger(), nullable=False),
    sa.Column('relationship', sa.SmallInteger(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.CheckConstraint('relationship BETWEEN 1 AND 11', name='ck_family_memberships_shdk'),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], ),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_family_memberships_family_id'), 'family_memberships', ['family_id'], unique=False)
    op.create_index(op.f('ix_family_memberships_resident_id'), 'family_memberships', ['resident_id'], unique=False)
    # One family card at a time: at most one open membership per resident.
    op.create_index('uq_family_memberships_open', 'family_memberships', ['resident_id'], unique=True, postgresql_where=sa.text('valid_to IS NULL'))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('uq_family_memberships_open', table_name='family_memberships', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_index(op.f('ix_family_memberships_resident_id'), table_name='family_memberships')
    op.drop_index(op.f('ix_family_memberships_family_id'), table_name='family_memberships')
    op.drop_table('family_memberships')
    op.drop_table('resident_credentials')
    op.drop_index(op.f('ix_resident_changes_resident_id'), table_name='resident_changes')
    op.drop_table('resident_changes')
    op.drop_index(op.f('ix_life_events_village_code'), table_name='life_events')
    op.drop_index(op.f('ix_life_events_resident_id'), table_name='life_events')
    op.drop_table('life_events')
    op.drop_index(op.f('ix_families_village_code'), table_name='families')
    op.drop_table('families')
    op.drop_table('temporary_number_sequences')
    op.drop_index('ix_residents_village_name', table_name='residents')
    op.drop_index('ix_residents_village_area', table_name='residents')
    op.drop_index('ix_residents_nik_prefix', table_name='residents', postgresql_ops={'nik': 'varchar_pattern_ops'})
    op.drop_index(op.f('ix_residents_family_number'), table_name='residents')
    op.drop_table('residents')
    op.drop_table('accounts')
    op.drop_index(op.f('ix_villages_district_code'), table_name='villages')
    op.drop_table('villages')
    drop_kernel_tables()
