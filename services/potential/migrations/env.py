"""Alembic environment of the potential database."""
from services.common.migrations import run_env
from services.potential.models import Base

run_env(Base.metadata)
