"""A service process declares the whole topology when it starts, before it publishes or
consumes: a deploy that skipped `desa declare` still loses no event."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import kombu
from amqp.exceptions import NotFound

from services.common.topology import all_subscriptions, journal_queue, service_classes

ROOT = Path(__file__).resolve().parents[3]


def _missing_queues(amqp_uri: str, names: list[str]) -> list[str]:
    missing = []
    with kombu.Connection(amqp_uri) as conn:
        for name in names:
            channel = conn.channel()
            try:
                channel.queue_declare(name, passive=True)
                channel.close()
            except NotFound:
                missing.append(name)
    return missing


def test_a_starting_service_declares_every_journal_and_consumer_queue(migrated, fresh_vhost,
                                                                      tmp_path):
    # registry consumes nothing itself: letters' queues and the journals exist only if
    # registry's start declared the whole topology of the checkout.
    expected = [journal_queue(cls.name).name for cls in service_classes()]
    expected += [sub.queue_name for sub in all_subscriptions()]
    assert _missing_queues(fresh_vhost, expected) == expected
    log = (tmp_path / "registry.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "services.common.runner", "registry"],
                               cwd=ROOT, env={**os.environ, "DESA_AMQP_URI": fresh_vhost},
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while _missing_queues(fresh_vhost, expected) and time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "registry.log").read_text()
            time.sleep(0.2)
        assert _missing_queues(fresh_vhost, expected) == []
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
