"""RectificationWorkflow: one rectification item of the supervision group (P8.1.3), carried
out as its aggregate decides.

The rules are `domain.rectification.Rectification`; the shell machinery (one decision at
a time, the read-model write, the deadline timer, the Temporal UI's attributes) is
`workflows.shell`, shared with the order and feedback workflows. The supervision run starts
one per item it opens (id `rectification-<item id>`); it ends when supervision accepts
the department's answer.
"""

# No `from __future__ import annotations`: the sandbox imports this module afresh for every
# workflow it starts, and string annotations would be compiled again each time to read the
# handlers' argument types.

from collections.abc import Mapping
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from domain.commands import ClaimTaskCommand
    from domain.errors import NotTrusted
    from domain.rectification import (
        RecordedRectification,
        Rectification,
        RectificationAnswerCommand,
        RectificationClosed,
        RectificationDecision,
        RectificationItemInput,
        RectificationResult,
        RectificationVerifyCommand,
        RectificationView,
    )
    from domain.trust import NonceBook
    from workflows import search_attributes as sa
    from workflows.shell import Shell


@workflow.defn
class RectificationWorkflow:
    @workflow.init
    def __init__(self, input: RectificationItemInput) -> None:
        self.item = Rectification.new(input, workflow.now())
        # Opened with its task at once, so that an update arriving with the start finds it.
        self._opening: RectificationDecision | None = self.item.start(workflow.now())
        self.shell = Shell(
            self.item,
            write_activity="apply_rectification_changes",
            write_result=RecordedRectification,
            search=self._search_attributes,
        )
        self.shell.mark_sent({sa.OVERDUE: False})

    @workflow.run
    async def run(self, input: RectificationItemInput) -> RectificationClosed:
        opening, self._opening = self._opening, None
        assert opening is not None
        await self.shell.run(opening, lambda: self.item.closed)
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and self.shell.idle)
        record = self.item.record
        return RectificationClosed(
            item_id=record.item.item_id,
            state=record.state,
            rounds=record.round,
            closed_at=record.closed_at,
        )

    # --- staff actions (Updates) -----------------------------------------------------------

    @workflow.update
    async def answer(self, command: RectificationAnswerCommand) -> RectificationResult:
        """P8.1.3: the department's cause, corrective action and evidence."""
        await self.shell.decide(lambda now: self.item.answer(command, now))
        return self.item.result()

    @answer.validator
    def _validate_answer(self, command: RectificationAnswerCommand) -> None:
        self.shell.check(self.item.check_answer, command)

    @workflow.update
    async def verify(self, command: RectificationVerifyCommand) -> RectificationResult:
        """P8.1.3: supervision accepts (closed) or rejects (reopened with a new deadline)."""
        await self.shell.decide(lambda now: self.item.verify(command, now))
        return self.item.result()

    @verify.validator
    def _validate_verify(self, command: RectificationVerifyCommand) -> None:
        self.shell.check(self.item.check_verify, command)

    @workflow.update
    async def claim_task(self, command: ClaimTaskCommand) -> RectificationResult:
        """Claim, release or hand over the item's task within its department."""
        await self.shell.decide(lambda now: self.item.claim_task(command, now))
        return self.item.result()

    @claim_task.validator
    def _validate_claim_task(self, command: ClaimTaskCommand) -> None:
        self.shell.check(self.item.check_claim_task, command)

    @property
    def nonces(self) -> NonceBook:
        """The signed commands accepted lately (workflows/trust.py refuses replays)."""
        return self.item.record.nonces

    async def refuse_feed(self, name: str, command: Any, refusal: NotTrusted) -> None:
        """An item takes no feeds (no signals): nothing can be refused here."""

    # --- queries ---------------------------------------------------------------------------

    @workflow.query
    def view(self) -> RectificationView:
        """The item's live state."""
        return self.item.view()

    def _search_attributes(self) -> Mapping[SearchAttributeKey[Any], Any]:
        task = self.item.open_task()
        return {
            sa.PENDING_DEPARTMENT: task.department.value if task else None,
            sa.OVERDUE: bool(task and task.overdue),
        }
