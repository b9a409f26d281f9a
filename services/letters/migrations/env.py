"""Alembic environment of the letters database."""
from services.common.migrations import run_env
from services.letters.models import Base

run_env(Base.metadata)
