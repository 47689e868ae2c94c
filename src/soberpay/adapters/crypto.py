"""AES-256-GCM key ring with key ids (rotation) and the argon2id password hasher.

Key material lives either in ``SOBERPAY_TEMPLATE_KEY`` (base64, one key, id ``env``; e.g. put there by
a KMS or secret manager) or in ``<key_dir>/keys.json`` (``key_dir`` defaults to the data dir), kept 0600.
The file holds every key ever used, and which one is current, so rows encrypted under an old key still
decrypt until re-encrypted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from soberpay.adapters.private_files import private_dir, private_file
from soberpay.errors import ConfigError

NONCE_BYTES = 12


class AesGcmKeyRing:
    """Implements the ``Cipher`` port. Blob layout: 12-byte nonce ‖ ciphertext+tag."""

    def __init__(self, keys: dict[str, bytes], current: str, path: Path | None = None) -> None:
        if current not in keys:
            raise ConfigError("current key id missing from key ring", key_id=current)
        for kid, key in keys.items():
            if len(key) != 32:
                raise ConfigError("AES-256 key must be 32 bytes", key_id=kid)
        self._keys = dict(keys)
        self._current = current
        self._path = path

    @property
    def current_key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        ct = AESGCM(self._keys[self._current]).encrypt(nonce, plaintext, associated_data or None)
        return self._current, nonce + ct

    def decrypt(self, key_id: str, blob: bytes, associated_data: bytes = b"") -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            raise ConfigError("unknown encryption key id", key_id=key_id)
        try:
            return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data or None)
        except InvalidTag as exc:
            raise ConfigError("ciphertext failed authentication", key_id=key_id) from exc

    def rotate(self) -> str:
        """Add a fresh key, make it current, persist. Returns the new key id."""
        if self._path is None:
            raise ConfigError("key ring from environment cannot rotate; use a key file")
        new_id = f"k{len(self._keys) + 1}-{secrets.token_hex(4)}"
        self._keys[new_id] = AESGCM.generate_key(bit_length=256)
        self._current = new_id
        _write_keyfile(self._path, self._keys, self._current)
        return new_id

    def retire(self, key_id: str) -> None:
        """Forget an old key once nothing is encrypted under it any more."""
        if key_id == self._current:
            raise ConfigError("cannot retire the current key", key_id=key_id)
        self._keys.pop(key_id, None)
        if self._path is not None:
            _write_keyfile(self._path, self._keys, self._current)

    @classmethod
    def from_env_or_file(cls, env_key: str | None, key_dir: Path) -> AesGcmKeyRing:
        if env_key:
            try:
                raw = base64.b64decode(env_key, validate=True)
            except ValueError as exc:
                raise ConfigError("SOBERPAY_TEMPLATE_KEY is not valid base64") from exc
            kid = "env-" + hashlib.sha256(raw).hexdigest()[:8]
            return cls({kid: raw}, kid)
        path = key_dir / "keys.json"
        if not path.exists():
            private_dir(key_dir)
            kid = "k1-" + secrets.token_hex(4)
            _write_keyfile(path, {kid: AESGCM.generate_key(bit_length=256)}, kid)
        private_file(path)  # a key file copied in or made by an older version may be readable by others
        doc = json.loads(path.read_text())
        keys = {k: base64.b64decode(v) for k, v in doc["keys"].items()}
        return cls(keys, doc["current"], path)


def _write_keyfile(path: Path, keys: dict[str, bytes], current: str) -> None:
    doc = {"current": current, "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()}}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class Argon2idHasher:
    """Implements the ``PasswordHasher`` port with argon2id (library defaults, RFC 9106 low-memory)."""

    def __init__(self, time_cost: int = 2, memory_cost: int = 19_456, parallelism: int = 1) -> None:
        self._ph = _Argon2(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)

    def hash(self, secret: str) -> str:
        return self._ph.hash(secret)

    def verify(self, hashed: str, secret: str) -> bool:
        try:
            return self._ph.verify(hashed, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
