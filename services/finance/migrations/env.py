"""Alembic environment of the finance database."""
from services.common.migrations import run_env
from services.finance.models import Base

run_env(Base.metadata)
