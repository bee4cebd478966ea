"""The keys that sign commands (domain/trust.py): Ed25519, by key id.

The API holds the private key that signs (`OMS_COMMAND_SIGNING_KEY`, `<id>:<base64>`);
the workers hold only the public keys that verify (`OMS_COMMAND_KEYS`, base64 by key
id, every key that signed a command of a running order). The embedded system keeps
both in `var/command-keys.json` (mode 0600), made by `oms up` on first start; `oms
command-keys new` rotates: a new key signs, the old ones keep verifying.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from config.private_files import write_private


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class CommandKeys:
    #: Raw 32-byte public keys by id: every key whose signatures are still honoured.
    public: dict[str, bytes]
    #: Raw 32-byte private keys by id: only where commands are signed (the API).
    private: dict[str, bytes] = field(default_factory=dict)
    active: str | None = None

    @classmethod
    def generate(cls) -> CommandKeys:
        return cls({}).rotated()

    def rotated(self) -> CommandKeys:
        key = Ed25519PrivateKey.generate()
        key_id = f"c{len(self.public) + 1}-{secrets.token_hex(3)}"
        private = key.private_bytes_raw()
        return CommandKeys(
            {**self.public, key_id: _raw_public(key)}, {**self.private, key_id: private}, key_id
        )

    def signer(self) -> tuple[str, Ed25519PrivateKey] | None:
        """The active key that signs, or None where this process only verifies."""
        if self.active is None or self.active not in self.private:
            return None
        return self.active, Ed25519PrivateKey.from_private_bytes(self.private[self.active])

    def verifiers(self) -> dict[str, Ed25519PublicKey]:
        return {k: Ed25519PublicKey.from_public_bytes(v) for k, v in self.public.items()}

    def public_strings(self) -> dict[str, str]:
        return {k: base64.b64encode(v).decode() for k, v in self.public.items()}

    def signing_string(self) -> str:
        """`<id>:<base64 private key>`, the form of `OMS_COMMAND_SIGNING_KEY`."""
        assert self.active is not None
        return f"{self.active}:{base64.b64encode(self.private[self.active]).decode()}"

    @classmethod
    def from_settings(cls, public: dict[str, str], signing: str) -> CommandKeys:
        keys = {k: base64.b64decode(v) for k, v in public.items()}
        if not signing:
            return cls(keys)
        key_id, _, encoded = signing.partition(":")
        private = base64.b64decode(encoded)
        keys.setdefault(key_id, _raw_public(Ed25519PrivateKey.from_private_bytes(private)))
        return cls(keys, {key_id: private}, key_id)


def load_command_keys(path: Path) -> CommandKeys | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return CommandKeys(
        {k: base64.b64decode(v) for k, v in data["public"].items()},
        {k: base64.b64decode(v) for k, v in data.get("private", {}).items()},
        data.get("active"),
    )


def save_command_keys(path: Path, keys: CommandKeys) -> None:
    """Write the key file, readable by its owner only from the moment it exists."""
    body = {
        "active": keys.active,
        "public": keys.public_strings(),
        "private": {k: base64.b64encode(v).decode() for k, v in keys.private.items()},
    }
    write_private(path, json.dumps(body, indent=2))
