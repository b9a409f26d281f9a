"""`desa backup verify` names corrupt and missing objects, a restore refuses them and changes
nothing; the backup store down or a shipper stopped mid-pass loses and doubles nothing."""
from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from minio import Minio

from services.common.backup.journal import list_service
from services.common.backup.shipper import Shipper
from services.common.backup.store import BackupStore
from services.common.outbox import Outbox
from services.common.tables import backup_changes
from services.registry.app import residents
from tests.dr.conftest import VILLAGES
from tests.dr.support import desa, desa_result, differences
from tests.integration.registry.support import person

# The loaded CI machine: the world is built once, restores take minutes there.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
VILLAGE = VILLAGES[0]


def _put_raw(store: BackupStore, name: str, blob: bytes) -> None:
    store.client.put_object(store.bucket, name, io.BytesIO(blob), len(blob))


def _register(world, name: str) -> str:
    officer = {"role": "officer", "village_code": VILLAGE, "username": "dr.f", "nik": None}
    return world.do("registry", residents.register_resident, Outbox("registry"), VILLAGE,
                    person(date(1988, 8, 8), "L", name=name), officer)["nik"]


def _needed_document(world) -> str:
    """The backup object of a document that a letters row of the village still names. (Not just
    the first object listed: a point-in-time restore earlier in the session leaves objects in the
    backup store that no row names any more, and a restore rightly never reads those.)"""
    with world.engine("letters").connect() as conn:
        key = conn.scalar(sa.text(
            "SELECT min(key) FROM letter_attachments WHERE village_code = :v"), {"v": VILLAGE})
    assert key, "the world has a letter with an attachment in the village"
    return f"documents/{key}"


def test_verify_catches_corrupt_and_missing_objects_and_restore_refuses_them(world):
    world.ship()
    store = world.store
    assert "0 problem(s)" in desa("backup", "verify")
    segment = list_service(store, "registry")[VILLAGE].segments
    last = segment[max(segment)].name
    document = _needed_document(world)
    originals = {name: store.get_raw(name) for name in (last, document)}
    try:
        _refuses_corrupt_and_missing_objects(world, store, last, document, originals)
    finally:  # a failure here must not leave later tests a corrupt backup store
        for name, blob in originals.items():
            _put_raw(store, name, blob)


def _refuses_corrupt_and_missing_objects(world, store, last, document, originals) -> None:
    for name, blob in originals.items():
        _put_raw(store, name, blob[:-10] + bytes([blob[-10] ^ 0x01]) + blob[-9:])

    result = desa_result("backup", "verify")
    assert result.exit_code == 1
    assert f"corrupt: {last}" in result.output and f"corrupt: {document}" in result.output

    before = world.dump(village=VILLAGE)
    result = desa_result("restore", "--village", VILLAGE)
    assert result.exit_code == 1 and "restore stopped, nothing restored" in result.output
    # The services run in parallel: the first to fail stops the other before it may get to its
    # own corrupt object.
    assert last in result.output or document in result.output
    assert differences(before, world.dump(village=VILLAGE)) == []
    result = desa_result("restore", "--village", VILLAGE, "--service", "registry")
    assert result.exit_code == 1 and last in result.output

    _put_raw(store, last, originals[last])
    result = desa_result("restore", "--village", VILLAGE, "--service", "letters")
    assert result.exit_code == 1 and document in result.output  # a document no longer matches
    assert differences(before, world.dump(village=VILLAGE)) == []
    _put_raw(store, document, originals[document])

    for name in ("Sesudah Potret", "Sesudah Lagi"):  # two segments after every snapshot
        _register(world, name)
        world.ship()
    segment = list_service(store, "registry")[VILLAGE].segments
    gone = segment[sorted(segment)[-2]].name  # the restore needs it
    kept = store.get_raw(gone)
    store.remove(gone)
    result = desa_result("backup", "verify")
    assert result.exit_code == 1 and "missing: journal of registry" in result.output
    result = desa_result("restore", "--village", VILLAGE, "--service", "registry")
    assert result.exit_code == 1 and "missing from the backup store" in result.output
    _put_raw(store, gone, kept)
    assert "0 problem(s)" in desa("backup", "verify")


def test_backup_store_down_the_service_keeps_working_and_the_backlog_drains(world):
    world.ship()
    down = BackupStore(Minio("127.0.0.1:9", access_key="x", secret_key="y", secure=False),
                       world.store.bucket, world.store.keyring)
    shipper = Shipper("registry", engine=world.engine("registry"), store=down,
                      documents=world.documents)
    written = [_register(world, "Saat Cadangan Mati") for _ in range(3)]
    with pytest.raises(Exception):  # noqa: B017 - any connection error
        shipper.ship_once()
    shipper.pool.shutdown()
    with world.engine("registry").connect() as conn:
        waiting = conn.scalar(sa.select(sa.func.count()).select_from(backup_changes))
    assert waiting >= 3 * 2  # each registration: its resident row and its outbox row at least

    world.ship()  # the store is back: the backlog drains
    with world.engine("registry").connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(backup_changes)) == 0
    want, heads = world.dump(village=VILLAGE), world.outbox_heads()
    desa("restore", "--village", VILLAGE, "--service", "registry")
    assert differences(want, world.dump(village=VILLAGE, outbox_upto=heads)) == []
    assert all(nik.encode() in want["registry", "residents"] for nik in written)


class DiesAfterUpload(BackupStore):
    """A store whose shipper dies right after a segment landed, before it deletes the rows."""

    def put_json(self, name, value):
        size = super().put_json(name, value)
        if name.startswith("journal/"):
            raise KeyboardInterrupt("shipper killed mid-pass")
        return size


def test_a_shipper_stopped_between_upload_and_delete_loses_and_doubles_nothing(world):
    world.ship()
    _register(world, "Sebelum Mati")
    dying = DiesAfterUpload(world.store.client, world.store.bucket, world.store.keyring)
    shipper = Shipper("registry", engine=world.engine("registry"), store=dying,
                      documents=world.documents)
    with pytest.raises(KeyboardInterrupt):
        shipper.ship_once()
    shipper.pool.shutdown()
    with world.engine("registry").connect() as conn:
        ids = list(conn.scalars(sa.select(backup_changes.c.id)))
    assert ids  # still there: they will be shipped again
    world.ship()
    segments = list_service(world.store, "registry")[VILLAGE].segments
    shipped = [world.store.get_json(segments[s].name)["changes"] for s in sorted(segments)[-2:]]
    assert {c["id"] for c in shipped[0]} & {c["id"] for c in shipped[1]}  # sent twice
    want, heads = world.dump(village=VILLAGE), world.outbox_heads()
    output = desa("restore", "--village", VILLAGE, "--service", "registry")
    assert differences(want, world.dump(village=VILLAGE, outbox_upto=heads)) == []
    assert "registry: 1 village(s)" in output


def _rename_first_resident_unseen(world, name: str) -> tuple[int, str]:
    """A change the backup never sees (capture stood aside): a registry restore would undo it."""
    with world.engine("registry").begin() as conn:
        conn.execute(sa.text("SET LOCAL desa.backup_restore = 'on'"))
        return tuple(conn.execute(sa.text(
            "UPDATE residents r SET name = :name FROM (SELECT id, name FROM residents "
            "WHERE village_code = :v ORDER BY id LIMIT 1) o WHERE r.id = o.id "
            "RETURNING o.id, o.name"), {"name": name, "v": VILLAGE}).one())


def _rename_back_unseen(world, resident: tuple[int, str]) -> None:
    with world.engine("registry").begin() as conn:
        conn.execute(sa.text("SET LOCAL desa.backup_restore = 'on'"))
        conn.execute(sa.text("UPDATE residents SET name = :n WHERE id = :i"),
                     {"n": resident[1], "i": resident[0]})


def test_one_service_failing_restores_no_service_of_the_village(world):
    """All or nothing across services: a corrupt letters document leaves registry (restored in
    parallel, ready to commit) as it was too, and the message names the service and object."""
    world.ship()
    store = world.store
    document = _needed_document(world)
    original = store.get_raw(document)
    _put_raw(store, document, original[:-10] + bytes([original[-10] ^ 0x01]) + original[-9:])
    resident = _rename_first_resident_unseen(world, "Tidak Tercadang")
    try:
        before = world.dump(village=VILLAGE)
        result = desa_result("restore", "--village", VILLAGE)
        assert result.exit_code == 1
        assert "nothing restored in any service: letters: document" in result.output
        assert document in result.output
        assert differences(before, world.dump(village=VILLAGE)) == []  # registry not undone
    finally:
        _put_raw(store, document, original)
        _rename_back_unseen(world, resident)


def test_a_commit_failing_part_way_names_what_was_and_was_not_restored(world, monkeypatch):
    from services.common.backup import restore as restore_module

    world.ship()
    resident = _rename_first_resident_unseen(world, "Tidak Tercadang")
    commit = restore_module.Prepared.commit

    def commit_unless_letters(self):
        if self.report.service == "letters":
            raise OSError("server closed the connection unexpectedly")
        return commit(self)

    monkeypatch.setattr(restore_module.Prepared, "commit", commit_unless_letters)
    try:
        result = desa_result("restore", "--village", VILLAGE)
        assert result.exit_code == 1
        assert ("restore stopped part way: letters could not commit (server closed the "
                "connection unexpectedly); restored: registry; not restored: letters and the "
                "services after it") in result.output
        with world.engine("registry").connect() as conn:  # registry was restored: undone
            assert conn.scalar(sa.text("SELECT name FROM residents WHERE id = :i"),
                               {"i": resident[0]}) == resident[1]
    finally:
        monkeypatch.undo()
        _rename_back_unseen(world, resident)
    world.ship()
    assert "0 problem(s)" in desa("backup", "verify")
