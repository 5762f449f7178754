"""Encryption at rest of a person's sensitive columns: AES-256-GCM, one value at a time.

Stored value = version (1 byte) | key-id length (1 byte) | key id | nonce (12 bytes) | ciphertext+tag.
- The key id travels with the value, so keys can rotate: new values use the active key,
  old values still decrypt with a retired key until they are re-encrypted.
- The associated data binds each value to its column and row (and to its header): a
  ciphertext copied into another row or column fails to decrypt instead of revealing
  one person's details under another person's record.

Keys come from ``PATHWAYS_FIELD_KEY`` as ``<key id>:<base64 of 32 bytes>`` (or bare base64,
whose key id is then derived from the key), and ``PATHWAYS_FIELD_KEYS_RETIRED`` as a
comma-separated list of the same, for decryption only. Without them a fixed, public
DEVELOPMENT key is used, for the embedded stack only: never store real data under it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from collections.abc import Mapping
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

KEY_ENV = "PATHWAYS_FIELD_KEY"
RETIRED_KEYS_ENV = "PATHWAYS_FIELD_KEYS_RETIRED"
DEV_KEY_ID = "dev-insecure"
# DEVELOPMENT ONLY: public, in the source code, protects nothing. Set PATHWAYS_FIELD_KEY in production.
DEV_KEY = b"pathways-DEV-ONLY-field-key-0001"

_VERSION = 1
_NONCE_BYTES = 12  # the GCM standard nonce; random per value (2^32 values per key stay far below collision risk)


class DecryptionError(ValueError):
    """The value was tampered with, belongs to another row or column, or its key is unknown."""


class FieldCipher:
    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise ValueError(f"active key {active_key_id!r} is not among the keys")
        for key_id, key in keys.items():
            _check_key(key_id, key)
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> FieldCipher:
        return cls.from_keys(environ.get(KEY_ENV, ""), environ.get(RETIRED_KEYS_ENV, ""))

    @classmethod
    def from_keys(cls, active: str | None, retired: str = "") -> FieldCipher:
        """The active key spec and a comma-separated list of retired ones (the settings' values)."""
        active = (active or "").strip()
        if not active:
            log.warning("%s is not set: using the public DEVELOPMENT field key; never store real data", KEY_ENV)
            return cls({DEV_KEY_ID: DEV_KEY}, DEV_KEY_ID)
        active_id, active_key = parse_key(active)
        old = [parse_key(spec) for spec in retired.split(",") if spec.strip()]
        return cls(dict(old) | {active_id: active_key}, active_id)

    @property
    def uses_development_key(self) -> bool:
        return self.active_key_id == DEV_KEY_ID

    def encrypt(self, plaintext: str, *, column: str, row_id: str | UUID) -> bytes:
        header = _header(self.active_key_id)
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[self.active_key_id].encrypt(nonce, plaintext.encode(), _ad(header, column, row_id))
        return header + nonce + sealed

    def decrypt(self, stored: bytes, *, column: str, row_id: str | UUID) -> str:
        key_id, header, nonce, sealed = _split(stored)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(f"unknown key id {key_id!r}: was a retired key dropped too early?")
        try:
            return cipher.decrypt(nonce, sealed, _ad(header, column, row_id)).decode()
        except InvalidTag:
            raise DecryptionError(f"value of {column} for row {row_id} failed authentication") from None

    def needs_rotation(self, stored: bytes) -> bool:
        """True when the value is under a retired key and should be re-encrypted."""
        return _split(stored)[0] != self.active_key_id


def parse_key(spec: str) -> tuple[str, bytes]:
    """``<key id>:<base64>`` or bare base64 (key id derived from the key)."""
    key_id, _, encoded = spec.strip().rpartition(":")
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("a field key must be base64") from None
    return (key_id or "k-" + hashlib.sha256(key).hexdigest()[:8]), key


def _check_key(key_id: str, key: bytes) -> None:
    if len(key) != 32:
        raise ValueError(f"field key {key_id!r} must be 32 bytes (AES-256), got {len(key)}")
    if not key_id or len(key_id.encode()) > 255 or not key_id.isascii():
        raise ValueError(f"key id {key_id!r} must be 1-255 ASCII characters")


def _header(key_id: str) -> bytes:
    encoded = key_id.encode("ascii")
    return bytes([_VERSION, len(encoded)]) + encoded


def _split(stored: bytes) -> tuple[str, bytes, bytes, bytes]:
    if len(stored) < 2 or stored[0] != _VERSION:
        raise DecryptionError("not a Pathways field ciphertext (unknown format version)")
    header_end = 2 + stored[1]
    header, body = stored[:header_end], stored[header_end:]
    if len(body) < _NONCE_BYTES + 16:
        raise DecryptionError("field ciphertext is truncated")
    return header[2:].decode("ascii", "replace"), header, body[:_NONCE_BYTES], body[_NONCE_BYTES:]


def _ad(header: bytes, column: str, row_id: str | UUID) -> bytes:
    # Length-prefixed so ("ab", "c") and ("a", "bc") can never produce the same associated data.
    parts = [column.encode(), str(row_id).encode()]
    return header + b"".join(len(p).to_bytes(4, "big") + p for p in parts)
