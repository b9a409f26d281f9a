"""`desa restore --village CODE` onto empty databases and an empty primary bucket restores that
village exactly, while another village keeps taking requests."""
from __future__ import annotations

import threading
from datetime import date

import pytest

from services.common.outbox import Outbox
from services.registry.app import residents
from tests.dr.conftest import VILLAGES
from tests.dr.support import desa, differences
from tests.integration.registry.support import person

# The loaded CI machine: the world is built once, restores take minutes there.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def test_one_village_onto_an_empty_machine_while_the_other_keeps_serving(world):
    restored, serving = VILLAGES
    world.ship()
    want_restored, want_serving = world.dump(village=restored), world.dump(village=serving)
    heads = world.outbox_heads()

    world.destroy()
    desa("restore", "--village", serving)  # the first village back on an empty machine
    assert differences(want_serving, world.dump(village=serving, outbox_upto=heads)) == []
    assert not any(world.dump(village=restored).values())  # nothing of the other yet

    officer = {"role": "officer", "village_code": serving, "username": "dr.busy", "nik": None}
    written, errors, stop = [], [], threading.Event()

    def keep_serving() -> None:
        while not stop.is_set():
            try:
                written.append(world.do("registry", residents.register_resident,
                                        Outbox("registry"), serving,
                                        person(date(1999, 9, 9), "P", name="Warga Baru"),
                                        officer)["nik"])
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                errors.append(repr(exc))
                return

    writer = threading.Thread(target=keep_serving)
    writer.start()
    try:
        output = desa("restore", "--village", restored)
    finally:
        stop.set()
        writer.join(timeout=60)
    assert errors == [] and written, (errors, output)
    problems = differences(want_restored, world.dump(village=restored, outbox_upto=heads))
    assert problems == [], "\n".join(problems)
    # The serving village kept its rows and every write made during the restore.
    after = world.dump(village=serving)
    for key, rows in want_serving.items():
        if key[1] == "audit_log":  # append-only: the registrations meanwhile were logged after
            assert after[key].startswith(rows), key
        elif key[1] not in ("residents", "resident_changes", "outbox"):
            assert after[key] == rows, key
    registry_residents = after["registry", "residents"].decode()
    assert all(nik in registry_residents for nik in written)

    desa("restore", "--village", "regency")  # the rows of no village: the world is whole again
    world.ship()
