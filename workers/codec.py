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

import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from config.keys import Keyring, UnknownKey

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


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
