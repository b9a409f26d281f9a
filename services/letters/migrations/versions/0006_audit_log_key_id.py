"""The audit log's rows say which HMAC key sealed them (decision 0035).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""
from typing import Sequence, Union

from services.common.migrations import add_audit_key_id, drop_audit_key_id

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    add_audit_key_id()


def downgrade() -> None:
    drop_audit_key_id()
