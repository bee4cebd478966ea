"""AES-GCM payload codec: workflow histories hold no plaintext personal data.

Every payload (workflow inputs, update and signal arguments, activity inputs and
results: names, phones, addresses, amounts) is encrypted before it leaves the
process and decrypted when it comes back. Each encrypted payload carries the id of
the key that encrypted it in its metadata, so keys can be rotated: the active key
encrypts, every key of the keyring still decrypts. Failure messages and stack
traces are moved into encoded attributes too (they may quote data).

Payload layout: metadata `encoding = binary/encrypted`, `encryption-key-id = <id>`;
data = 12-byte nonce || AES-256-GCM(serialized original payload, aad = key id).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(
        json.dumps({"active": keyring.active, "keys": keyring.to_strings()}, indent=2)
    )
    os.chmod(temporary, 0o600)
    temporary.replace(path)


class EncryptionCodec(PayloadCodec):
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.keyring.active
        nonce = os.urandom(12)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # not ours (e.g. written before encryption was switched on)
        key_id = payload.metadata[KEY_ID].decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownKey(f"payload encrypted with unknown key {key_id!r}")
        nonce, sealed = payload.data[:12], payload.data[12:]
        return Payload.FromString(cipher.decrypt(nonce, sealed, key_id.encode()))
