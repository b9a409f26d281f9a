"""Verification tokens printed in a letter's QR code: an Ed25519 signature, base64url.

The token carries the letter id and a signature over (letter id, number, content digest); the
verifier looks the letter up by id and checks the signature against what is recorded. See
docs/decisions/letters-verification-token.md for why the digest is of the letter's content and
not of the PDF file that contains the token.
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

TOKEN_VERSION = 1
_SIGNATURE_BYTES = 64
_TOKEN_BYTES = 1 + 16 + _SIGNATURE_BYTES


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


def _message(letter_id: str, number: str, digest: str) -> bytes:
    return f"desa-letter-v{TOKEN_VERSION}|{letter_id}|{number}|{digest}".encode()


def make_token(key: Ed25519PrivateKey, letter_id: str, number: str, digest: str) -> str:
    signature = key.sign(_message(letter_id, number, digest))
    raw = bytes([TOKEN_VERSION]) + uuid.UUID(letter_id).bytes + signature
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class ParsedToken:
    letter_id: str
    signature: bytes


def parse_token(token: str) -> ParsedToken | None:
    """The letter id and signature, or None if the token is not even well-formed."""
    if not token or len(token) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _TOKEN_BYTES or raw[0] != TOKEN_VERSION:
        return None
    return ParsedToken(str(uuid.UUID(bytes=raw[1:17])), raw[17:])


def signature_valid(public_key: Ed25519PublicKey, parsed: ParsedToken, number: str,
                    digest: str) -> bool:
    try:
        public_key.verify(parsed.signature, _message(parsed.letter_id, number, digest))
    except InvalidSignature:
        return False
    return True


if __name__ == "__main__":
    print(new_signing_key())
