"""Resident search at regency scale: trigram index on the accent- and case-folded name, and
the village page index ordered as the page is (decision 0091).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# unaccent() is only STABLE (its dictionary could change), so an index cannot use it directly;
# this wrapper names the dictionary and is declared IMMUTABLE, the usual way to index it.
FOLD = """
CREATE OR REPLACE FUNCTION desa_fold(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
    op.execute(FOLD)
    op.execute("CREATE INDEX ix_residents_name_folded_trgm ON residents "
               "USING gin (desa_fold(name) gin_trgm_ops) WITH (fastupdate = off)")
    op.drop_index("ix_residents_village_name", table_name="residents")
    op.execute("CREATE INDEX ix_residents_village_name ON residents "
               "(village_code, lower(name), id)")


def downgrade() -> None:
    op.drop_index("ix_residents_village_name", table_name="residents")
    op.execute("CREATE INDEX ix_residents_village_name ON residents (village_code, lower(name))")
    op.drop_index("ix_residents_name_folded_trgm", table_name="residents")
    op.execute("DROP FUNCTION IF EXISTS desa_fold(text)")
