"""Verification tokens printed in a letter's QR code: an Ed25519 signature, base64url.

The token carries the signing key's id, the letter id and a signature over (key id, letter id,
number, content digest); the verifier looks the letter up by id and checks the signature with
the public key of that id from its keyring, against what is recorded. See
docs/decisions/0010-letter-verification-token.md for why the digest is of the letter's content
and not of the PDF file that contains the token, and 0024 for key rotation: the keyring holds the
current key's public half and every earlier one (DESA_LETTER_VERIFY_KEYS), so a QR code printed
under an old key stays valid.

    python -m services.letters.tokens               # a new private key (base64)
    python -m services.letters.tokens public KEY    # its public key, for DESA_LETTER_VERIFY_KEYS
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

TOKEN_VERSION = 2  # 1: no key id (tokens printed before keys could rotate)
_SIGNATURE_BYTES = 64
_KEY_ID_BYTES = 4
_TOKEN_BYTES = {1: 1 + 16 + _SIGNATURE_BYTES, 2: 1 + _KEY_ID_BYTES + 16 + _SIGNATURE_BYTES}


class SigningKeyMissing(RuntimeError):
    """DESA_LETTER_SIGNING_KEY is empty or not a base64 32-byte Ed25519 private key."""


def load_signing_key(encoded: str) -> Ed25519PrivateKey:
    if not encoded.strip():
        raise SigningKeyMissing(
            "DESA_LETTER_SIGNING_KEY is empty: set it to the base64 of a raw 32-byte Ed25519 "
            "private key (python -m services.letters.tokens prints a new one)")
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise SigningKeyMissing(f"DESA_LETTER_SIGNING_KEY is not base64: {exc}") from exc
    if len(raw) != 32:
        raise SigningKeyMissing(
            f"DESA_LETTER_SIGNING_KEY must decode to 32 bytes, got {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> bytes:
    """A key's id: the first 4 bytes of the SHA-256 of its raw public key (8 hex digits)."""
    return hashlib.sha256(_raw_public(public_key)).digest()[:_KEY_ID_BYTES]


def public_key_text(private_key: Ed25519PrivateKey) -> str:
    """The base64 raw public key of a private key: what DESA_LETTER_VERIFY_KEYS lists."""
    return base64.b64encode(_raw_public(private_key.public_key())).decode()


def load_keyring(signing_key: Ed25519PrivateKey, verify_keys: str = "") -> dict:
    """{key id: public key} of the current key and of every earlier one still honoured.

    `verify_keys`: comma-separated base64 raw 32-byte Ed25519 *public* keys (never private
    ones: a verifier does not need them).
    """
    ring = {key_id(signing_key.public_key()): signing_key.public_key()}
    for number, item in enumerate(filter(None, (k.strip() for k in verify_keys.split(","))), 1):
        try:
            raw = base64.b64decode(item, validate=True)
            if len(raw) != 32:
                raise ValueError(f"{len(raw)} bytes")
            public = Ed25519PublicKey.from_public_bytes(raw)
        except (binascii.Error, ValueError) as exc:
            raise SigningKeyMissing(f"DESA_LETTER_VERIFY_KEYS item {number} is not a base64 "
                                    f"raw 32-byte Ed25519 public key ({exc})") from exc
        ring[key_id(public)] = public
    return ring


def new_signing_key() -> str:
    """A fresh key, base64 (for tests and for the local runner's development fallback)."""
    from cryptography.hazmat.primitives import serialization

    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption())
    return base64.b64encode(raw).decode()


def content_digest(content: dict) -> str:
    """SHA-256 of the letter's printed content in canonical JSON (everything but the QR)."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _message(version: int, kid: bytes | None, letter_id: str, number: str, digest: str) -> bytes:
    if version == 1:
        return f"desa-letter-v1|{letter_id}|{number}|{digest}".encode()
    return f"desa-letter-v{version}|{kid.hex()}|{letter_id}|{number}|{digest}".encode()


def make_token(key: Ed25519PrivateKey, letter_id: str, number: str, digest: str) -> str:
    kid = key_id(key.public_key())
    signature = key.sign(_message(TOKEN_VERSION, kid, letter_id, number, digest))
    raw = bytes([TOKEN_VERSION]) + kid + uuid.UUID(letter_id).bytes + signature
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class ParsedToken:
    letter_id: str
    signature: bytes
    version: int = TOKEN_VERSION
    key_id: bytes | None = None


def parse_token(token: str) -> ParsedToken | None:
    """The letter id and signature, or None if the token is not even well-formed."""
    if not token or len(token) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if not raw or _TOKEN_BYTES.get(raw[0]) != len(raw):
        return None
    if raw[0] == 1:
        return ParsedToken(str(uuid.UUID(bytes=raw[1:17])), raw[17:], 1, None)
    kid, rest = raw[1:1 + _KEY_ID_BYTES], raw[1 + _KEY_ID_BYTES:]
    return ParsedToken(str(uuid.UUID(bytes=rest[:16])), rest[16:], raw[0], kid)


def signature_valid(keys: dict | Ed25519PublicKey, parsed: ParsedToken, number: str,
                    digest: str) -> bool:
    """Checked with the key the token names; a version 1 token (no key id) with any key."""
    ring = keys if isinstance(keys, dict) else {key_id(keys): keys}
    if parsed.key_id is not None:
        candidates = [ring[parsed.key_id]] if parsed.key_id in ring else []
    else:
        candidates = list(ring.values())
    message = _message(parsed.version, parsed.key_id, parsed.letter_id, number, digest)
    for public_key in candidates:
        try:
            public_key.verify(parsed.signature, message)
        except InvalidSignature:
            continue
        return True
    return False


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["public"] and len(sys.argv) == 3:
        print(public_key_text(load_signing_key(sys.argv[2])))
    else:
        print(new_signing_key())
