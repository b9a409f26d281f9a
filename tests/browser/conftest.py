"""Browser tests: the web portal in Debian's Chromium, driven by Playwright, every process real.

They run as their own pytest session WITHOUT eventlet's monkey patching (make test sets
DESA_TESTS_WITHOUT_EVENTLET=1): Playwright's sync API runs an asyncio loop in a greenlet, and
under eventlet's patched select and subprocess that loop stops waking up at random (an event
waiter or the driver's exit then hangs for ever). Nothing here runs a nameko container in
process, so nothing needs the patches. The platform is started as for tests/e2e.
"""
from __future__ import annotations

import eventlet.patcher
import pytest

from tests.e2e.conftest import platform  # noqa: F401 (the same fixture, one per session here)

if eventlet.patcher.is_monkey_patched("socket"):
    pytest.exit("tests/browser runs without eventlet: DESA_TESTS_WITHOUT_EVENTLET=1 "
                "pytest tests/browser (make test does)", returncode=4)
