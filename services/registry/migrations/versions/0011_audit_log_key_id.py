"""The audit log's rows say which HMAC key sealed them (decision 0035).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""
from typing import Sequence, Union

from services.common.migrations import add_audit_key_id, drop_audit_key_id

# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    add_audit_key_id()


def downgrade() -> None:
    drop_audit_key_id()
