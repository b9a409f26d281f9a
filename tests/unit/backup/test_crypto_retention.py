"""Sealing backup objects (AES-256-GCM, key id, rotation), snapshot visibility, retention."""
from __future__ import annotations

import pytest

from services.common.backup.crypto import BackupKeyError, CorruptObject, Keyring, new_key_entry
from services.common.backup.journal import visible_in
from services.common.backup.retention import keep


def test_sealed_objects_carry_their_key_id_and_open_after_rotation():
    old, new = new_key_entry("2025"), new_key_entry("2026")
    sealed_before = Keyring.parse(old).seal("journal/a/b/0000000001.seg", b"village rows")
    rotated = Keyring.parse(f"{new},{old}")
    sealed_after = rotated.seal("journal/a/b/0000000002.seg", b"newer rows")
    assert Keyring.key_id_of(sealed_before) == "2025" and Keyring.key_id_of(sealed_after) == "2026"
    assert rotated.open("journal/a/b/0000000001.seg", sealed_before) == b"village rows"
    assert rotated.open("journal/a/b/0000000002.seg", sealed_after) == b"newer rows"
    assert b"village rows" not in sealed_before
    with pytest.raises(BackupKeyError, match="2026"):  # the old key alone cannot read the new
        Keyring.parse(old).open("journal/a/b/0000000002.seg", sealed_after)


def test_a_flipped_byte_or_another_name_fails_to_open():
    ring = Keyring.parse(new_key_entry("k"))
    blob = ring.seal("documents/x", b"a letter")
    flipped = blob[:-3] + bytes([blob[-3] ^ 0x40]) + blob[-2:]
    with pytest.raises(CorruptObject):
        ring.open("documents/x", flipped)
    with pytest.raises(CorruptObject):
        ring.open("documents/y", blob)  # moved under another name
    with pytest.raises(CorruptObject):
        ring.open("documents/x", b"plain text")


@pytest.mark.parametrize("text", ["", "k", "k:notbase64!", "k:" + "QUJD"])
def test_a_bad_keyring_is_refused(text):
    with pytest.raises(BackupKeyError):
        Keyring.parse(text)


def test_visibility_of_a_transaction_in_a_snapshot():
    snapshot = "100:110:102,105"
    assert visible_in(snapshot, 99) and visible_in(snapshot, 104)
    assert not visible_in(snapshot, 102) and not visible_in(snapshot, 110)
    assert visible_in("100:100:", 99) and not visible_in("100:100:", 100)


def test_retention_keeps_the_newest_and_7_daily_4_weekly_12_monthly():
    stamps = [f"2026{m:02d}{d:02d}T020000000000Z" for m in range(1, 12) for d in (1, 8, 15, 22)]
    stamps += [f"202611{d:02d}T{h:02d}0000000000Z" for d in range(23, 30) for h in (2, 14)]
    kept = keep(stamps)
    assert max(stamps) in kept
    days = {s[:8] for s in kept if s >= "20261123"}
    assert len(days) == 7 and all(f"202611{d}T140000000000Z" in kept for d in range(23, 30))
    assert "20261123T020000000000Z" not in kept  # an older one of a kept day
    months = {s[:6] for s in kept}
    assert len(months) == 11 and len(kept) < len(stamps)
    assert keep(stamps[:1]) == {stamps[0]}
