"""The kernel's audit_log: who read or changed whose personal data (decision 0032).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
from typing import Sequence, Union

from services.common.migrations import create_kernel_table, drop_kernel_table

# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_kernel_table("audit_log")


def downgrade() -> None:
    drop_kernel_table("audit_log")
