"""Resident reads: who read whose record, when and why (UU 27/2022 PDP access log).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('resident_reads',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('nik', sa.String(length=24), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('actor_username', sa.String(length=64), nullable=True),
    sa.Column('actor_nik', sa.String(length=24), nullable=True),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_resident_reads_nik_read_at', 'resident_reads', ['nik', 'read_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_resident_reads_nik_read_at', table_name='resident_reads')
    op.drop_table('resident_reads')
