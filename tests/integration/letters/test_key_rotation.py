"""Signing keys rotate: QR codes printed under an earlier key stay valid (decision 0024)."""
from __future__ import annotations

import uuid

import pytest
from nameko.testing.services import entrypoint_hook

from services.common.config import reset_settings
from services.letters import models, tokens
from services.letters.service import LettersService

pytestmark = pytest.mark.integration


def _verify_with(container_factory, nameko_config, monkeypatch, token: str, **env) -> dict:
    """Start the real letters service with this configuration and verify `token` through it."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    container = container_factory(LettersService, nameko_config)
    container.start()
    try:
        with entrypoint_hook(container, "verify_token") as verify:
            return verify(token)
    finally:
        container.stop()
        monkeypatch.undo()
        reset_settings()


def test_a_letter_signed_before_a_rotation_still_verifies(world, container_factory,
                                                          nameko_config, monkeypatch):
    code = world.village()["code"]
    letter = world.checked(code, world.resident(code)["nik"])
    world.sign_and_issue(code, letter["id"])  # under the run's current key
    token = world.session.get(models.Letter, uuid.UUID(letter["id"])).verification_token
    parsed = tokens.parse_token(token)
    assert parsed.key_id == tokens.key_id(world.key.public_key())

    new_key = tokens.new_signing_key()
    rotated = _verify_with(container_factory, nameko_config, monkeypatch, token,
                           DESA_LETTER_SIGNING_KEY=new_key,
                           DESA_LETTER_VERIFY_KEYS=tokens.public_key_text(world.key))
    assert rotated["valid"] is True and rotated["number"]
    # Without the old public key in the ring, the printed QR code no longer verifies: the
    # keyring, not the signing key, decides (before key ids, this was every rotation).
    forgotten = _verify_with(container_factory, nameko_config, monkeypatch, token,
                             DESA_LETTER_SIGNING_KEY=new_key, DESA_LETTER_VERIFY_KEYS="")
    assert forgotten == {"valid": False}
