"""letter number series: an index for the highest sequence a series' letters carry

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 02:30:00

"""
from typing import Sequence, Union

from alembic import op

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_letters_series', 'letters',
                    ['village_code', 'number_year', 'classification_code', 'number_seq'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_letters_series', table_name='letters')
