"""Integration secrets encrypted at rest with MultiFernet (first key encrypts, all decrypt)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, MultiFernet


def _fernet(key: str) -> Fernet:
    """A Fernet from a real Fernet key, or derived from any passphrase."""
    try:
        return Fernet(key.encode())
    except ValueError:
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


class SecretBox:
    """Encrypts and decrypts JSON secrets; `FLOWPILOT_SECRET_KEY` may list keys comma-separated."""

    def __init__(self, secret_key: str) -> None:
        keys = [k.strip() for k in secret_key.split(",") if k.strip()]
        self._fernet = MultiFernet([_fernet(k) for k in keys])

    def seal(self, secrets: dict[str, Any]) -> bytes:
        """Ciphertext of a JSON object."""
        return self._fernet.encrypt(json.dumps(secrets).encode())

    def open(self, ciphertext: bytes) -> dict[str, Any]:
        """The JSON object inside a ciphertext (kept in memory only)."""
        result: dict[str, Any] = json.loads(self._fernet.decrypt(ciphertext))
        return result
