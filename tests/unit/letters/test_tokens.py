"""Verification tokens: sign, verify, tamper."""
import base64
import re
import uuid

import pytest

from services.letters import tokens

LETTER_ID = str(uuid.UUID("6f1c1d1e-5a4b-4c3d-9e8f-7a6b5c4d3e2f"))
NUMBER = "470/007/2001/IV/2026"
DIGEST = tokens.content_digest({"number": NUMBER, "holder": {"name": "Siti Aminah"}})


@pytest.fixture(scope="module")
def key():
    return tokens.load_signing_key(tokens.new_signing_key())


def _valid(key, token, number=NUMBER, digest=DIGEST):
    parsed = tokens.parse_token(token)
    return parsed is not None and tokens.signature_valid(key.public_key(), parsed, number, digest)


def test_round_trip(key):
    token = tokens.make_token(key, LETTER_ID, NUMBER, DIGEST)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # URL-safe, no padding
    assert len(token) == 114  # version, key id, letter id, signature
    assert tokens.parse_token(token).letter_id == LETTER_ID
    assert _valid(key, token)


def test_other_number_or_content_is_invalid(key):
    token = tokens.make_token(key, LETTER_ID, NUMBER, DIGEST)
    assert not _valid(key, token, number="470/008/2001/IV/2026")
    assert not _valid(key, token, digest=tokens.content_digest({"number": "x"}))


def test_every_single_character_change_is_invalid(key):
    token = tokens.make_token(key, LETTER_ID, NUMBER, DIGEST)
    for position in range(0, len(token), 7):
        replacement = "A" if token[position] != "A" else "B"
        tampered = token[:position] + replacement + token[position + 1:]
        assert not _valid(key, tampered), position


def test_other_key_is_invalid(key):
    token = tokens.make_token(key, LETTER_ID, NUMBER, DIGEST)
    other = tokens.load_signing_key(tokens.new_signing_key())
    assert not tokens.signature_valid(other.public_key(), tokens.parse_token(token), NUMBER,
                                      DIGEST)


@pytest.mark.parametrize("garbage", ["", "abc", "!!!!", "A" * 300, "A" * 108])
def test_malformed_tokens(garbage):
    assert tokens.parse_token(garbage) is None


def test_content_digest_is_canonical():
    assert tokens.content_digest({"a": 1, "b": [1, 2]}) == tokens.content_digest(
        {"b": [1, 2], "a": 1})
    assert tokens.content_digest({"a": 1}) != tokens.content_digest({"a": 2})


@pytest.mark.parametrize("bad", ["", "   ", "not base64!", base64.b64encode(b"short").decode()])
def test_missing_or_bad_key_fails_loudly(bad):
    with pytest.raises(tokens.SigningKeyMissing):
        tokens.load_signing_key(bad)


def test_tokens_of_an_earlier_key_stay_valid_through_the_keyring(key):
    """Rotation: the new key signs, the old key's public half still verifies its QR codes."""
    old_token = tokens.make_token(key, LETTER_ID, NUMBER, DIGEST)
    new_key = tokens.load_signing_key(tokens.new_signing_key())
    ring = tokens.load_keyring(new_key, f" {tokens.public_key_text(key)} ,")
    assert set(ring) == {tokens.key_id(key.public_key()), tokens.key_id(new_key.public_key())}
    parsed = tokens.parse_token(old_token)
    assert parsed.key_id == tokens.key_id(key.public_key())
    assert tokens.signature_valid(ring, parsed, NUMBER, DIGEST)
    assert not tokens.signature_valid(tokens.load_keyring(new_key), parsed, NUMBER, DIGEST)
    new_token = tokens.make_token(new_key, LETTER_ID, NUMBER, DIGEST)
    assert tokens.signature_valid(ring, tokens.parse_token(new_token), NUMBER, DIGEST)


def test_version_1_tokens_printed_before_key_ids_still_verify(key):
    import base64
    import uuid

    message = f"desa-letter-v1|{LETTER_ID}|{NUMBER}|{DIGEST}".encode()
    raw = bytes([1]) + uuid.UUID(LETTER_ID).bytes + key.sign(message)
    token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert len(token) == 108
    parsed = tokens.parse_token(token)
    assert parsed.version == 1 and parsed.key_id is None
    other = tokens.load_signing_key(tokens.new_signing_key())
    assert tokens.signature_valid(tokens.load_keyring(other, tokens.public_key_text(key)),
                                  parsed, NUMBER, DIGEST)
    assert not tokens.signature_valid(tokens.load_keyring(other), parsed, NUMBER, DIGEST)


@pytest.mark.parametrize("bad", ["not base64!", "QUJD", tokens.new_signing_key() + "AA=="])
def test_verify_keys_must_be_public_keys(key, bad):
    with pytest.raises(tokens.SigningKeyMissing):
        tokens.load_keyring(key, bad)
