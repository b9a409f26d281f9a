"""var/local.env: this machine's secrets, generated once and kept."""
from __future__ import annotations

import base64
import stat

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deploy.local.localenv import GENERATED, ensure_local_env, read_env_file


def test_generated_once_with_mode_600_then_kept(tmp_path):
    path = tmp_path / "var" / "local.env"
    first = ensure_local_env(path)
    assert set(first) == set(GENERATED)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_local_env(path) == first == read_env_file(path)
    assert len(first["DESA_JWT_SECRET"]) >= 32
    assert first != ensure_local_env(tmp_path / "other.env")  # random per machine


def test_a_missing_secret_is_added_and_the_others_kept(tmp_path):
    path = tmp_path / "local.env"
    path.write_text("# mine\nDESA_JWT_SECRET=kept-as-it-is\n")
    values = ensure_local_env(path)
    assert values["DESA_JWT_SECRET"] == "kept-as-it-is"
    assert set(values) == set(GENERATED)
    assert "# mine" in path.read_text()


def test_the_letter_signing_key_is_a_raw_ed25519_private_key(tmp_path):
    raw = base64.b64decode(ensure_local_env(tmp_path / "local.env")["DESA_LETTER_SIGNING_KEY"])
    assert len(raw) == 32
    key = Ed25519PrivateKey.from_private_bytes(raw)
    key.public_key().verify(key.sign(b"surat"), b"surat")
