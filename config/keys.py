"""Payload encryption keys (the keyring): named 256-bit keys, one of them active.

The keys come from the settings (`OMS_CODEC_KEYS`, `OMS_CODEC_ACTIVE_KEY`) or from a
key file; `workers.codec` encrypts and decrypts payloads with them.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config.private_files import write_private


class UnknownKey(Exception):
    """A payload was encrypted with a key this keyring does not hold."""


@dataclass(frozen=True)
class Keyring:
    """Named 256-bit keys; `active` encrypts, all decrypt."""

    keys: dict[str, bytes]
    active: str

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise ValueError(f"the active key {self.active!r} is not in the keyring")
        for key_id, key in self.keys.items():
            if len(key) != 32:
                raise ValueError(f"key {key_id!r} is not 256 bits")

    @classmethod
    def from_strings(cls, keys: dict[str, str], active: str) -> Keyring:
        """Keys as base64 text, as they come from settings or a key file."""
        return cls({k: base64.b64decode(v) for k, v in keys.items()}, active)

    def to_strings(self) -> dict[str, str]:
        return {k: base64.b64encode(v).decode() for k, v in self.keys.items()}

    def rotated(self) -> Keyring:
        """A new active key; the old ones stay to decrypt what they encrypted."""
        key_id = f"k{len(self.keys) + 1}-{secrets.token_hex(3)}"
        return Keyring({**self.keys, key_id: AESGCM.generate_key(bit_length=256)}, key_id)

    @classmethod
    def generate(cls) -> Keyring:
        key_id = f"k1-{secrets.token_hex(3)}"
        return cls({key_id: AESGCM.generate_key(bit_length=256)}, key_id)


def load_key_file(path: Path) -> Keyring | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Keyring.from_strings(data["keys"], data["active"])


def save_key_file(path: Path, keyring: Keyring) -> None:
    """Write the key file, readable by its owner only from the moment it exists."""
    write_private(
        path, json.dumps({"active": keyring.active, "keys": keyring.to_strings()}, indent=2)
    )
