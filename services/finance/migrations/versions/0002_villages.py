"""villages read model (the regency view names every village)

Revision ID: 0002
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "villages",
        sa.Column("code", sa.String(13), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("district_code", sa.String(8), nullable=True),
        sa.Column("district_name", sa.String(100), nullable=True),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )
    op.create_index("ix_villages_district_code", "villages", ["district_code"])


def downgrade() -> None:
    op.drop_index("ix_villages_district_code", table_name="villages")
    op.drop_table("villages")
