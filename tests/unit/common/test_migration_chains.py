"""Each service's Alembic chain has exactly one head: two engineers adding the same revision
number in parallel (it happened: two registry 0007s landed together) fail here, before a
database refuses to upgrade."""
from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

from services.common.config import SERVICES
from services.common.migrations import SERVICES_DIR, alembic_config


def test_every_service_with_migrations_is_checked():
    found = {p.parent.parent.name for p in SERVICES_DIR.glob("*/migrations/env.py")}
    assert found == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_one_head_and_an_unbroken_chain(service):
    script = ScriptDirectory.from_config(alembic_config(service))
    heads = script.get_heads()
    assert len(heads) == 1, f"{service} has heads {heads}: re-chain down_revision"
    chain = list(script.walk_revisions())  # raises on a missing down_revision
    assert chain[-1].down_revision is None
    ids = [revision.revision for revision in chain]
    assert len(ids) == len(set(ids))
