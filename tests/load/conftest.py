"""The load run starts the same real platform as tests/e2e (its own databases, vhost, bucket)."""
from tests.e2e.conftest import platform  # noqa: F401
