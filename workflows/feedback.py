"""FeedbackWorkflow: one piece of customer feedback (P7), carried out as its aggregate decides.

The rules are `domain.feedback_handling.Feedback`; the shell machinery (one
decision at a time, the read-model write, the deadline timer, the Temporal UI's
attributes) is `workflows.shell`, shared with the order workflow.
"""

# No `from __future__ import annotations`: the sandbox imports this module afresh for every
# workflow it starts, and string annotations would be compiled again each time to read the
# handlers' argument types (10 % of a replay, measured).

from collections.abc import Mapping
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from domain.commands import ClaimTaskCommand
    from domain.contracts import FeedbackClosed, FeedbackWorkflowInput
    from domain.errors import NotTrusted
    from domain.feedback import (
        FeedbackReplyCommand,
        FeedbackResolveCommand,
        FeedbackResult,
        FeedbackView,
    )
    from domain.feedback_handling import Feedback, FeedbackDecision, RecordedFeedback
    from domain.notifications import SendNotices
    from domain.trust import NonceBook
    from workflows import outside
    from workflows import search_attributes as sa
    from workflows.shell import Shell


#: The workflow's input and result are part of its interface (they live in domain.contracts).
__all__ = ["FeedbackClosed", "FeedbackWorkflow", "FeedbackWorkflowInput"]


@workflow.defn
class FeedbackWorkflow:
    @workflow.init
    def __init__(self, input: FeedbackWorkflowInput) -> None:
        self.feedback = Feedback.new(
            input.feedback_id,
            input.request,
            input.policy,
            input.submitted_by,
            input.fingerprint,
            workflow.now(),
        )
        # Received and its task opened at once, so that an update arriving with the
        # start finds the task (P7.2).
        self._opening: FeedbackDecision | None = self.feedback.start(workflow.now())
        self.shell = Shell(
            self.feedback,
            write_activity="apply_feedback_changes",
            write_result=RecordedFeedback,
            search=self._search_attributes,
            follow_ups=self.feedback.follow_ups,
            followers={SendNotices: self._send_reply},
        )
        self.shell.mark_sent({sa.OVERDUE: False})

    @workflow.run
    async def run(self, input: FeedbackWorkflowInput) -> FeedbackClosed:
        opening, self._opening = self._opening, None  # its events are not kept for the order's life
        assert opening is not None
        await self.shell.run(opening, lambda: self.feedback.closed)
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and self.shell.idle)
        record = self.feedback.record
        return FeedbackClosed(
            feedback_id=record.feedback_id,
            state=record.state,
            outcome=record.outcome,
            resolved_at=record.resolved_at,
        )

    # --- staff actions (Updates) -----------------------------------------------------------

    @workflow.update
    async def reply(self, command: FeedbackReplyCommand) -> FeedbackResult:
        """P7.2: answer the customer; the first reply closes the reply task."""
        await self.shell.decide(lambda now: self.feedback.reply(command, now))
        return self.feedback.result()

    @reply.validator
    def _validate_reply(self, command: FeedbackReplyCommand) -> None:
        self.shell.check(self.feedback.check_reply, command)

    @workflow.update
    async def resolve(self, command: FeedbackResolveCommand) -> FeedbackResult:
        """P7.3: record the final result; a resolution without a reply is the first answer."""
        await self.shell.decide(lambda now: self.feedback.resolve(command, now))
        return self.feedback.result()

    @resolve.validator
    def _validate_resolve(self, command: FeedbackResolveCommand) -> None:
        self.shell.check(self.feedback.check_resolve, command)

    @workflow.update
    async def claim_task(self, command: ClaimTaskCommand) -> FeedbackResult:
        """Claim, release or hand over the reply task within customer service."""
        await self.shell.decide(lambda now: self.feedback.claim_task(command, now))
        return self.feedback.result()

    @claim_task.validator
    def _validate_claim_task(self, command: ClaimTaskCommand) -> None:
        self.shell.check(self.feedback.check_claim_task, command)

    @property
    def nonces(self) -> NonceBook:
        """The signed commands accepted lately (workflows/trust.py refuses replays)."""
        return self.feedback.record.nonces

    async def refuse_feed(self, name: str, command: Any, refusal: NotTrusted) -> None:
        """Feedback takes no feeds (no signals): nothing can be refused here."""

    # --- queries ---------------------------------------------------------------------------

    @workflow.query
    def view(self) -> FeedbackView:
        """The feedback's live state."""
        return self.feedback.view()

    async def _send_reply(self, request: SendNotices) -> None:
        """P7.2: the reply goes to the customer, in the background."""
        answer = await outside.send_notices(request)
        await self.shell.decide(lambda now: self.feedback.notices_answer(answer, now))

    def _search_attributes(self) -> Mapping[SearchAttributeKey[Any], Any]:
        task = self.feedback.open_task()
        return {
            sa.PENDING_DEPARTMENT: task.department.value if task else None,
            sa.OVERDUE: bool(task and task.overdue),
        }
