"""The API's side of trusted commands (domain/trust.py): a client interceptor that signs.

Every workflow start, update and signal whose command carries an actor leaves this
client with a signature in its `oms-command-signature` header: over the workflow
id, the command's name, its digest, the time and a fresh nonce, with the private
key only the API holds. The workers check it (workflows/trust.py). The API code
does not see any of it: it sends commands as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Interceptor,
    OutboundInterceptor,
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)

from config.command_keys import CommandKeys
from domain.trust import SIGNATURE_HEADER, sign
from workflows.trust import carries_actor, signature_header


class CommandSigner(Interceptor):
    def __init__(self, key_id: str, key: Ed25519PrivateKey) -> None:
        self.key_id = key_id
        self.key = key

    @classmethod
    def of(cls, keys: CommandKeys) -> CommandSigner | None:
        """A signer for a process that holds the private key; None for one that only checks."""
        signer = keys.signer()
        return cls(*signer) if signer else None

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Signing(next, self)

    def signed(
        self,
        headers: Mapping[str, Payload],
        *,
        workflow_id: str,
        name: str,
        args: Sequence[Any],
    ) -> Mapping[str, Payload]:
        """The headers with the command's signature added (as they were, without an actor)."""
        if not carries_actor(args):
            return headers
        signature = sign(
            self.key,
            self.key_id,
            workflow_id=workflow_id,
            name=name,
            command=args[0],
            now=datetime.now(UTC),
            nonce=uuid.uuid4().hex,
        )
        return {**headers, SIGNATURE_HEADER: signature_header(signature)}


class _Signing(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, signer: CommandSigner) -> None:
        super().__init__(next)
        self.signer = signer

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        input.headers = self.signer.signed(
            input.headers, workflow_id=input.id, name=input.workflow, args=input.args
        )
        return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        input.headers = self.signer.signed(
            input.headers, workflow_id=input.id, name=input.update, args=input.args
        )
        return await super().start_workflow_update(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        input.headers = self.signer.signed(
            input.headers, workflow_id=input.id, name=input.signal, args=input.args
        )
        await super().signal_workflow(input)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        start, update = input.start_workflow_input, input.update_workflow_input
        start.headers = self.signer.signed(
            start.headers, workflow_id=start.id, name=start.workflow, args=start.args
        )
        update.headers = self.signer.signed(
            update.headers, workflow_id=start.id, name=update.update, args=update.args
        )
        return await super().start_update_with_start_workflow(input)
