"""A village's residents in name order with the name and NIK in the index: a search within a
village tests q on the index alone, and a page's ids come off it (decision 0092).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # name and nik ride along (INCLUDE) so that testing q on an entry is an index-only scan.
    op.drop_index("ix_residents_village_name", table_name="residents")
    op.execute("CREATE INDEX ix_residents_village_name ON residents "
               "(village_code, lower(name), id) INCLUDE (name, nik)")


def downgrade() -> None:
    op.drop_index("ix_residents_village_name", table_name="residents")
    op.execute("CREATE INDEX ix_residents_village_name ON residents "
               "(village_code, lower(name), id)")
