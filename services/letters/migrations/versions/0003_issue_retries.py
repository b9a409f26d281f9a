"""issuing retries: attempts, next attempt, last error and parking of a signed letter's PDF step

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 02:45:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('letters', sa.Column('issue_attempts', sa.Integer(), server_default='0',
                                       nullable=False))
    op.add_column('letters', sa.Column('issue_retry_at', sa.DateTime(timezone=True),
                                       nullable=True))
    op.add_column('letters', sa.Column('issue_error', sa.String(length=500), nullable=True))
    op.add_column('letters', sa.Column('issue_parked_at', sa.DateTime(timezone=True),
                                       nullable=True))
    op.create_index('ix_letters_issue_pending', 'letters', ['issue_retry_at'], unique=False,
                    postgresql_where=sa.text("status = 'signed'"))


def downgrade() -> None:
    op.drop_index('ix_letters_issue_pending', table_name='letters',
                  postgresql_where=sa.text("status = 'signed'"))
    op.drop_column('letters', 'issue_parked_at')
    op.drop_column('letters', 'issue_error')
    op.drop_column('letters', 'issue_retry_at')
    op.drop_column('letters', 'issue_attempts')
