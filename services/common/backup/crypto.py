"""Client-side encryption of every backup object: AES-256-GCM, a key id in every object.

An object is `DDB1 | len(key id) | key id | nonce (12) | ciphertext+tag` over the zlib-compressed
body. The object's name and the key id are authenticated data, so an object copied under another
name, or any flipped byte, fails to open. The keyring is configuration only (DESA_BACKUP_KEYS):
the first key seals new objects, every key opens old ones, so rotating keeps old backups readable.
"""
from __future__ import annotations

import base64
import os
import zlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"DDB1"
NONCE_BYTES = 12


class BackupKeyError(Exception):
    """The keyring is missing, malformed, or lacks the key an object was sealed with."""


class CorruptObject(Exception):
    """An object that does not open: wrong format, flipped bytes, or sealed under another name."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]
    current: str

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """`id:base64key[,id:base64key...]`; the first is the current key."""
        keys: dict[str, bytes] = {}
        current = None
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            key_id, sep, encoded = item.partition(":")
            if not sep or not key_id or len(key_id) > 64:
                raise BackupKeyError("DESA_BACKUP_KEYS must be id:base64key[,id:base64key...]")
            try:
                key = base64.b64decode(encoded, validate=True)
            except ValueError:
                raise BackupKeyError(f"backup key {key_id!r} is not base64") from None
            if len(key) != 32:
                raise BackupKeyError(f"backup key {key_id!r} must be 32 bytes (AES-256)")
            keys[key_id] = key
            current = current or key_id
        if current is None:
            raise BackupKeyError("DESA_BACKUP_KEYS is empty: no key to encrypt backups with")
        return cls(keys, current)

    def seal(self, name: str, body: bytes) -> bytes:
        key_id = self.current.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(
            nonce, zlib.compress(body, 3), name.encode() + b"\0" + key_id)
        return MAGIC + bytes([len(key_id)]) + key_id + nonce + sealed

    def open(self, name: str, blob: bytes) -> bytes:
        if blob[:4] != MAGIC or len(blob) < 5:
            raise CorruptObject(f"{name}: not a backup object")
        size = blob[4]
        key_id = blob[5:5 + size]
        nonce = blob[5 + size:5 + size + NONCE_BYTES]
        key = self.keys.get(key_id.decode(errors="replace"))
        if key is None:
            raise BackupKeyError(f"{name}: sealed with key {key_id.decode(errors='replace')!r}, "
                                 "which is not in DESA_BACKUP_KEYS")
        try:
            packed = AESGCM(key).decrypt(nonce, blob[5 + size + NONCE_BYTES:],
                                         name.encode() + b"\0" + key_id)
            return zlib.decompress(packed)
        except (InvalidTag, zlib.error):
            raise CorruptObject(f"{name}: fails authentication (corrupt or tampered)") from None

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        return blob[5:5 + blob[4]].decode(errors="replace")


def new_key_entry(key_id: str) -> str:
    """A fresh `id:base64key` item for DESA_BACKUP_KEYS."""
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"
