"""Login failures counted per login name and per source address (lock-out with backoff).

The PIN lock moves from resident_credentials to login_failures, which also counts staff
passwords, unknown NIKs and addresses.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'login_failures',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
        sa.Column('lockouts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index(op.f('ix_login_failures_last_failure_at'), 'login_failures',
                    ['last_failure_at'], unique=False)
    op.drop_column('resident_credentials', 'failed_attempts')
    op.drop_column('resident_credentials', 'locked_until')


def downgrade() -> None:
    """Downgrade schema."""
    op.add_column('resident_credentials',
                  sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('resident_credentials',
                  sa.Column('failed_attempts', sa.Integer(), server_default='0', nullable=False))
    op.drop_index(op.f('ix_login_failures_last_failure_at'), table_name='login_failures')
    op.drop_table('login_failures')
