"""catalogue: a word index (text search vector) instead of the trigram index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 06:30:00

Decision 0053: search matches word prefixes through a GIN index on
to_tsvector('simple', search_text); the trigram index is no longer read.
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_catalogue_search_words ON catalogue USING gin "
               "(to_tsvector('simple'::regconfig, search_text)) WITH (fastupdate = off)")
    op.drop_index('ix_catalogue_search_trgm', table_name='catalogue')


def downgrade() -> None:
    op.create_index('ix_catalogue_search_trgm', 'catalogue', ['search_text'], unique=False,
                    postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'},
                    postgresql_with={'fastupdate': 'off'})
    op.drop_index('ix_catalogue_search_words', table_name='catalogue')
