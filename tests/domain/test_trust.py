"""Commands the engine can trust (domain/trust.py), as plain functions: who signed what.

The API signs each command that carries an actor over the workflow id, the
command's name and body, the time and a nonce; the workflow checks it with the
public keys. These tests pin what each tampering is refused as.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.actors import Actor, Department
from domain.commands import ClaimTaskCommand
from domain.errors import NotTrusted
from domain.trust import CommandSignature, NonceBook, check, sign

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
KEYS = {"c1": KEY.public_key()}
COMMAND = ClaimTaskCommand(
    actor=Actor(staff_id="wh-1", department=Department.WAREHOUSE),
    task_id="JD1-T2",
    assignee="wh-1",
)

FINANCE = Actor(staff_id="fin-1", department=Department.FINANCE)


def signed(**changes: Any) -> CommandSignature:
    options: dict[str, Any] = {
        "workflow_id": "order-JD1",
        "name": "claim_task",
        "command": COMMAND,
        "now": NOW,
        "nonce": "n-1",
    }
    options.update(changes)
    return sign(KEY, "c1", **options)


def checked(signature: CommandSignature | None, **changes: Any) -> None:
    options: dict[str, Any] = {
        "workflow_id": "order-JD1",
        "name": "claim_task",
        "command": COMMAND,
        "now": NOW + timedelta(seconds=2),
    }
    options.update(changes)
    check(signature, KEYS, **options)


def refusal(signature: CommandSignature | None, **changes: Any) -> str:
    with pytest.raises(NotTrusted) as refused:
        checked(signature, **changes)
    return refused.value.code


def test_a_command_signed_by_the_api_for_this_workflow_is_trusted():
    checked(signed())


def test_an_unsigned_command_is_refused():
    assert refusal(None) == "command_unsigned"


@pytest.mark.parametrize(
    "changes",
    [
        {"workflow_id": "order-JD2"},  # the same command, aimed at another order
        {"name": "complete_task"},  # its signature moved onto another action
        {"command": COMMAND.model_copy(update={"assignee": "wh-9"})},  # its body changed
        {"command": COMMAND.model_copy(update={"actor": FINANCE})},  # claimed by another
    ],
    ids=["other-order", "other-action", "other-body", "other-actor"],
)
def test_a_signature_does_not_carry_over_to_anything_else(changes: dict[str, Any]):
    assert refusal(signed(), **changes) == "command_forged"


def test_a_signature_by_a_key_the_workers_do_not_know_is_forged():
    stranger = Ed25519PrivateKey.generate()
    forged = sign(
        stranger,
        "c1",
        workflow_id="order-JD1",
        name="claim_task",
        command=COMMAND,
        now=NOW,
        nonce="n-1",
    )
    assert refusal(forged) == "command_forged"
    assert refusal(forged.model_copy(update={"key_id": "c9"})) == "command_forged"


def test_a_signature_outside_the_window_is_stale():
    assert refusal(signed(), now=NOW + timedelta(minutes=6)) == "command_stale"
    assert refusal(signed(), now=NOW - timedelta(minutes=6)) == "command_stale"


def test_a_nonce_seen_within_the_window_is_a_replay_and_forgotten_after_it():
    book = NonceBook()
    first = signed()
    book.check_new(first, "claim_task")
    book.remember(first, NOW, timedelta(minutes=5))
    with pytest.raises(NotTrusted) as replayed:
        book.check_new(first, "claim_task")
    assert replayed.value.code == "command_replayed"
    # Once the window is over the nonce is forgotten: its signature is stale by then anyway.
    later = signed(nonce="n-2", now=NOW + timedelta(minutes=10))
    book.remember(later, NOW + timedelta(minutes=10), timedelta(minutes=5))
    assert list(book.seen) == ["n-2"]


def test_the_nonce_book_stays_as_small_as_the_window_under_a_stream_of_commands():
    book = NonceBook()
    window = timedelta(seconds=10)
    for second in range(1_000):
        at = NOW + timedelta(seconds=second)
        book.remember(signed(nonce=f"n-{second}", now=at), at, window)
    assert len(book.seen) == 11
