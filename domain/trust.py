"""Commands the engine can trust: who acts is signed by the API, and checked by the order.

Who acts is a field of a command's payload (`actor`), so anyone who reaches the
Temporal frontend could claim to be anyone. Every command that carries an actor
(a staff action, a feed, the hand-over that starts an order) is therefore signed
by the API with an Ed25519 key only the API holds, over

    workflow id | command name | digest of the command | issued at | nonce

and the workflow checks the signature with the public keys before anything else:
a command whose signature is missing, wrong, stale (older than the window) or
seen before (its nonce) is refused. Ed25519 verification is deterministic, so a
replay of the history reaches the same verdict (the public keys are append-only:
a key that signed a running order's commands stays known until it has ended).

Pure: no clock (`now` comes in), no I/O; the keys come in as arguments.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel

from domain.errors import NotTrusted

#: The Temporal header that carries a command's signature.
SIGNATURE_HEADER = "oms-command-signature"
#: How far a signature's time may be from the workflow's: the API and Temporal's clocks
#: differ a little, and a request may wait a moment in a queue.
DEFAULT_WINDOW = timedelta(minutes=5)


class CommandSignature(BaseModel):
    key_id: str
    issued_at: datetime
    nonce: str
    #: Ed25519 over `message(...)`, base64.
    value: str


def digest(command: Any) -> str:
    """SHA-256 of the command's canonical JSON: what the signature binds the actor to."""
    if isinstance(command, BaseModel):
        command = command.model_dump(mode="json")
    canonical = json.dumps(command, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def message(workflow_id: str, name: str, body: str, issued_at: datetime, nonce: str) -> bytes:
    return "\n".join([workflow_id, name, body, issued_at.isoformat(), nonce]).encode()


def sign(
    key: Ed25519PrivateKey,
    key_id: str,
    *,
    workflow_id: str,
    name: str,
    command: Any,
    now: datetime,
    nonce: str,
) -> CommandSignature:
    signed = key.sign(message(workflow_id, name, digest(command), now, nonce))
    return CommandSignature(
        key_id=key_id, issued_at=now, nonce=nonce, value=base64.b64encode(signed).decode()
    )


def check(
    signature: CommandSignature | None,
    keys: Mapping[str, Ed25519PublicKey],
    *,
    workflow_id: str,
    name: str,
    command: Any,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
) -> None:
    """Raise NotTrusted unless the command was signed by a known key, for this workflow and
    this command, within the window. (Whether its nonce is new is the caller's to check:
    it needs the workflow's memory, `NonceBook`.)"""
    if signature is None:
        raise NotTrusted(
            f"{name}: the command is not signed", code="command_unsigned", params={"name": name}
        )
    key = keys.get(signature.key_id)
    if key is None:
        raise NotTrusted(
            f"{name}: signed with an unknown key",
            code="command_forged",
            params={"name": name},
        )
    try:
        value = base64.b64decode(signature.value, validate=True)
        signed = message(workflow_id, name, digest(command), signature.issued_at, signature.nonce)
        key.verify(value, signed)
    except (InvalidSignature, ValueError):
        raise NotTrusted(
            f"{name}: the signature does not match the command",
            code="command_forged",
            params={"name": name},
        ) from None
    if abs(now - signature.issued_at) > window:
        raise NotTrusted(
            f"{name}: the signature is from {signature.issued_at.isoformat()}, outside the "
            f"window of {window}",
            code="command_stale",
            params={"name": name},
        )


class NonceBook(BaseModel):
    """The nonces of the commands a workflow accepted within the window: a signed command
    sent again (a replay) is refused. Older ones are forgotten (their signature is stale)."""

    seen: dict[str, datetime] = {}

    def check_new(self, signature: CommandSignature, name: str) -> None:
        if signature.nonce in self.seen:
            raise NotTrusted(
                f"{name}: this signed command was already received",
                code="command_replayed",
                params={"name": name},
            )

    def remember(self, signature: CommandSignature, now: datetime, window: timedelta) -> None:
        # Forget from the oldest on (the book is in the order commands came), so that a
        # burst of commands costs each one a constant, not a pass over the whole book.
        while self.seen:
            oldest, at = next(iter(self.seen.items()))
            if now - at <= window:
                break
            del self.seen[oldest]
        self.seen[signature.nonce] = signature.issued_at
