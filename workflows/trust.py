"""The workers' side of trusted commands (domain/trust.py): a workflow interceptor.

Before a workflow starts, and before an update's validator or a signal's handler,
the interceptor checks the signature the API put in the command's header against
the command, the workflow, the time and the nonces already seen:

- a start whose hand-over is not trusted fails the workflow at once, before it
  writes anything (a forged order never reaches the read model);
- an update that is not trusted is rejected (the caller gets the refusal; the
  history keeps no trace of it);
- a signal that is not trusted is dropped, and the workflow is told
  (`refuse_feed`), which records it: a signal cannot be refused. A signal's nonce
  is not kept: feeds are deduplicated on their own event ids.

Commands that carry no actor (a restock telling an order that stock arrived, the
scheduled report and backup) need no signature: they decide nothing anyone could
abuse. Imported as a pass-through module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar, Protocol, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleQueryInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from domain.errors import NotTrusted
from domain.trust import SIGNATURE_HEADER, CommandSignature, NonceBook, check
from workflows.refusals import as_failure

#: The fields that name who acts: a command with one of them set must be signed.
ACTOR_FIELDS = ("actor", "submitted_by", "receipt")


class Guarded(Protocol):
    """What a workflow offers its trust interceptor."""

    @property
    def nonces(self) -> NonceBook: ...

    async def refuse_feed(self, name: str, command: Any, refusal: NotTrusted) -> None: ...


def carries_actor(args: Sequence[Any]) -> bool:
    if not args or not isinstance(args[0], BaseModel):
        return False
    command = args[0]
    return any(getattr(command, name, None) is not None for name in ACTOR_FIELDS)


def signature_in(headers: Mapping[str, Payload]) -> CommandSignature | None:
    found = headers.get(SIGNATURE_HEADER)
    if found is None:
        return None
    try:
        return CommandSignature.model_validate_json(found.data)
    except ValueError:  # a header that is not a signature at all: as good as none
        return None


def signature_header(signature: CommandSignature) -> Payload:
    """The header that carries a signature: plain JSON (it holds no personal data)."""
    return Payload(metadata={"encoding": b"json/plain"}, data=signature.model_dump_json().encode())


class CommandTrust(Interceptor):
    """The worker's interceptor: the public keys, and the window a signature must be in."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey], window: timedelta) -> None:
        self.keys = dict(keys)
        self.window = window

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        keys, window = self.keys, self.window

        class _Trusting(TrustingInbound):
            KEYS = keys
            WINDOW = window

        return _Trusting


class TrustingInbound(WorkflowInboundInterceptor):
    KEYS: ClassVar[Mapping[str, Ed25519PublicKey]] = {}
    WINDOW: ClassVar[timedelta] = timedelta(minutes=5)

    def __init__(self, next: WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        #: Why the start was refused: the workflow then answers no query either (its state
        #: is an impostor's, and the API would show it).
        self._refused_start: NotTrusted | None = None

    def _verify(
        self, name: str, args: Sequence[Any], headers: Mapping[str, Payload]
    ) -> CommandSignature | None:
        """The command's signature once checked; None when it carries no actor."""
        if not carries_actor(args):
            return None
        signature = signature_in(headers)
        check(
            signature,
            self.KEYS,
            workflow_id=workflow.info().workflow_id,
            name=name,
            command=args[0],
            now=workflow.now(),
            window=self.WINDOW,
        )
        assert signature is not None  # check() refuses a missing one
        guarded = _guarded()
        if guarded is not None:
            guarded.nonces.check_new(signature, name)
        return signature

    def _remember(self, signature: CommandSignature | None) -> None:
        guarded = _guarded()
        if signature is not None and guarded is not None:
            guarded.nonces.remember(signature, workflow.now(), self.WINDOW)

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        if workflow.info().continued_run_id is not None:
            # Continued as new by its own previous run, which Temporal vouches for.
            return await super().execute_workflow(input)
        try:
            self._remember(self._verify(workflow.info().workflow_type, input.args, input.headers))
        except NotTrusted as refusal:
            self._refused_start = refusal
            raise as_failure(refusal) from None
        return await super().execute_workflow(input)

    def handle_query(self, input: HandleQueryInput) -> Any:
        if self._refused_start is not None:
            raise as_failure(self._refused_start)
        return super().handle_query(input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        try:
            self._verify(input.update, input.args, input.headers)
        except NotTrusted as refusal:
            raise as_failure(refusal) from None
        super().handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        # The validator checked the signature (and a replay of the history does not run it
        # again). Its nonce is checked once more: two copies of one signed command accepted
        # in the same moment pass their validators together; only the first may act.
        signature = signature_in(input.headers) if carries_actor(input.args) else None
        guarded = _guarded()
        if signature is not None and guarded is not None:
            try:
                guarded.nonces.check_new(signature, input.update)
            except NotTrusted as refusal:
                raise as_failure(refusal) from None
        self._remember(signature)
        return await super().handle_update_handler(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        # A feed's nonce is checked, not kept: feeds are idempotent on their event ids (the
        # aggregate takes each once), so a replayed copy changes nothing, and a book of the
        # nonces of a flood of feed events would only grow the workflow's state.
        try:
            self._verify(input.signal, input.args, input.headers)
        except NotTrusted as refusal:
            guarded = _guarded()
            if guarded is not None:
                await guarded.refuse_feed(input.signal, input.args[0], refusal)
            return
        await super().handle_signal(input)


def _guarded() -> Guarded | None:
    """The workflow, when it keeps nonces (the order and feedback workflows do)."""
    instance = workflow.instance()
    return cast(Guarded, instance) if hasattr(instance, "nonces") else None
