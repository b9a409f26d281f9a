"""CSV imports run as background jobs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'import_jobs',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('village_code', sa.String(length=13), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('dry_run', sa.Boolean(), nullable=False),
        sa.Column('csv_text', sa.Text(), nullable=True),
        sa.Column('phase', sa.String(length=12), nullable=True),
        sa.Column('rows_total', sa.Integer(), server_default='0', nullable=False),
        sa.Column('rows_done', sa.Integer(), server_default='0', nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('report', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('error', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('created_by', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['village_code'], ['villages.code']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_import_jobs_village_code'), 'import_jobs', ['village_code'])
    op.create_index(op.f('ix_import_jobs_status'), 'import_jobs', ['status'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_import_jobs_status'), table_name='import_jobs')
    op.drop_index(op.f('ix_import_jobs_village_code'), table_name='import_jobs')
    op.drop_table('import_jobs')
