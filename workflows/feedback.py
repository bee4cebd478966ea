"""FeedbackWorkflow: one piece of customer feedback, from intake to its recorded result (P7).

`run` reads like the policy: the feedback is received and opens a customer-service
task due at the first-reply deadline (P7.2, default 24 h) with the same reminder,
overdue and escalation timers as every order task (`TaskBook`); the first reply
closes the task; the feedback ends when customer service records its result (P7.3).
Staff act through Updates validated here; every step is recorded as a feedback
event and mirrored to the read model by a local activity before the answer goes out.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.feedback import FeedbackActivities, FeedbackChanges
    from domain import summaries
    from domain.actors import SYSTEM_ACTOR, Actor, Department
    from domain.commands import ClaimTaskCommand
    from domain.errors import ActionNotAllowed, NotFound, NotPermitted
    from domain.feedback import (
        FeedbackEvent,
        FeedbackEventKind,
        FeedbackOutcome,
        FeedbackReply,
        FeedbackReplyCommand,
        FeedbackRequest,
        FeedbackResolveCommand,
        FeedbackResult,
        FeedbackState,
        FeedbackView,
        check_handler,
        check_open,
    )
    from domain.policy import PolicySettings
    from domain.tasks import Task, TaskKind, mark_deadline
    from workflows import search_attributes as sa
    from workflows.refusals import as_failure, refusals
    from workflows.retries import DB_RETRY, DB_TIMEOUT
    from workflows.task_book import DeadlineStage, TaskBook


class FeedbackWorkflowInput(BaseModel):
    feedback_id: str
    request: FeedbackRequest
    #: The policy in force when the feedback arrived (its first-reply deadline).
    policy: PolicySettings
    submitted_by: Actor
    #: Hash of the intake request: the same feedback_id with another body is a 409.
    fingerprint: str


class FeedbackClosed(BaseModel):
    feedback_id: str
    state: FeedbackState
    outcome: FeedbackOutcome | None
    resolved_at: datetime | None


def task_book_key(feedback_id: str) -> str:
    """Prefix of the feedback's task ids; ':' never occurs in an order id, so no clash."""
    return f"feedback:{feedback_id}"


@workflow.defn
class FeedbackWorkflow:
    @workflow.init
    def __init__(self, input: FeedbackWorkflowInput) -> None:
        self._input = input
        self._request = input.request
        self._received_at = workflow.now()
        self._state = FeedbackState.OPEN
        self._replies: list[FeedbackReply] = []
        self._first_reply_at: datetime | None = None
        self._resolved_at: datetime | None = None
        self._resolved_by: str | None = None
        self._outcome: FeedbackOutcome | None = None
        self._result: str | None = None
        self._referred_to: list[Department] = []
        self._task: Task | None = None
        self._tasks = TaskBook(
            task_book_key(input.feedback_id), input.policy, self._task_changed, self._task_deadline
        )
        self._seq = 0
        self._revision = 0
        self._events: list[FeedbackEvent] = []
        self._changed: dict[str, Task] = {}
        self._flush_lock = asyncio.Lock()
        self._search: dict[str, Any] = {sa.OVERDUE.name: False}

    @workflow.run
    async def run(self, input: FeedbackWorkflowInput) -> FeedbackClosed:
        self._record(
            FeedbackEventKind.RECEIVED,
            actor=input.submitted_by,
            data={
                "kind": self._request.kind.value,
                "channel": self._request.channel.value,
                "order_id": self._request.order_id,
            },
        )
        # P7.2: customer service answers by the first-reply deadline.
        self._task = self._tasks.open(
            TaskKind.REPLY_FEEDBACK,
            summary=self._summary(),
            case_id=input.feedback_id,
            deadline=input.policy.first_reply_deadline,
        )
        await self._flush()
        await workflow.wait_condition(lambda: self._state is FeedbackState.RESOLVED)
        await self._flush()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return FeedbackClosed(
            feedback_id=input.feedback_id,
            state=self._state,
            outcome=self._outcome,
            resolved_at=self._resolved_at,
        )

    # --- staff actions (Updates) -----------------------------------------------------------

    @workflow.update
    async def reply(self, command: FeedbackReplyCommand) -> FeedbackResult:
        """P7.2: answer the customer; the first reply closes the reply task."""
        await self._started()
        self._still_open()
        now = workflow.now()
        self._replies.append(
            FeedbackReply(
                seq=len(self._replies) + 1, at=now, actor=command.actor, message=command.message
            )
        )
        first = self._first_reply_at is None
        closed = self._answered(command.actor, "replied") if first else {}
        if self._state is FeedbackState.OPEN:
            self._state = FeedbackState.REPLIED
        self._record(
            FeedbackEventKind.REPLIED,
            actor=command.actor,
            note=command.message,
            task=self._task if first else None,
            data={"reply": len(self._replies), "first": first, **closed},
        )
        await self._flush()
        return self._answer()

    @reply.validator
    @refusals
    def _validate_reply(self, command: FeedbackReplyCommand) -> None:
        check_handler(command.actor.department)
        check_open(self._state)

    @workflow.update
    async def resolve(self, command: FeedbackResolveCommand) -> FeedbackResult:
        """P7.3: record the final result; a resolution without a reply is the first answer."""
        await self._started()
        self._still_open()
        first = self._first_reply_at is None
        closed = self._answered(command.actor, "resolved") if first else {}
        self._state = FeedbackState.RESOLVED
        self._resolved_at = workflow.now()
        self._resolved_by = command.actor.staff_id
        self._outcome = command.outcome
        self._result = command.result
        self._referred_to = list(dict.fromkeys(command.referred_to))
        self._record(
            FeedbackEventKind.RESOLVED,
            actor=command.actor,
            note=command.result,
            task=self._task if first else None,
            data={
                "outcome": command.outcome.value,
                "referred_to": ",".join(self._referred_to),
                **closed,
            },
        )
        await self._flush()
        return self._answer()

    @resolve.validator
    @refusals
    def _validate_resolve(self, command: FeedbackResolveCommand) -> None:
        check_handler(command.actor.department)
        check_open(self._state)

    @workflow.update
    async def claim_task(self, command: ClaimTaskCommand) -> FeedbackResult:
        """Claim, release or hand over the reply task within customer service."""
        await self._started()
        task = self._task_for(command)
        previous = task.assignee
        task.assignee = command.assignee
        self._task_changed(task)
        self._record(
            FeedbackEventKind.TASK_CLAIMED,
            actor=command.actor,
            task=task,
            data={"assignee": command.assignee, "previous": previous},
        )
        await self._flush()
        return self._answer()

    @claim_task.validator
    @refusals
    def _validate_claim_task(self, command: ClaimTaskCommand) -> None:
        self._task_for(command)

    # --- queries ---------------------------------------------------------------------------

    @workflow.query
    def view(self) -> FeedbackView:
        """The feedback's live state."""
        return FeedbackView(
            feedback_id=self._input.feedback_id,
            kind=self._request.kind,
            channel=self._request.channel,
            customer_id=self._request.customer_id,
            order_id=self._request.order_id,
            subject=self._request.subject,
            message=self._request.message,
            state=self._state,
            received_at=self._received_at,
            received_by=self._input.submitted_by,
            first_reply_due_at=self._received_at + self._input.policy.first_reply_deadline,
            first_reply_at=self._first_reply_at,
            replies=list(self._replies),
            resolved_at=self._resolved_at,
            resolved_by=self._resolved_by,
            outcome=self._outcome,
            result=self._result,
            referred_to=list(self._referred_to),
            task=self._task.model_copy() if self._task else None,
        )

    # --- machinery -------------------------------------------------------------------------

    async def _started(self) -> None:
        """An update may arrive in the first activation, before `run` opened the task."""
        await workflow.wait_condition(lambda: self._task is not None)

    def _still_open(self) -> None:
        """Two actions validated together: the one that comes second finds the feedback closed."""
        try:
            check_open(self._state)
        except ActionNotAllowed as error:
            raise as_failure(error) from None

    def _answered(self, actor: Actor, outcome: str) -> dict[str, str | bool]:
        """The customer has an answer: the first-reply time is set and the task closes."""
        self._first_reply_at = workflow.now()
        if self._task is not None and self._task.is_open:
            return self._tasks.close(self._task, actor, outcome)
        return {}

    def _task_for(self, command: ClaimTaskCommand) -> Task:
        task = self._tasks.get(command.task_id)
        if task is None:
            raise NotFound(
                f"no task {command.task_id} on this feedback",
                status=self._state.value,
                code="no_such_task",
                params={"task_id": command.task_id},
            )
        if not task.is_open:
            raise ActionNotAllowed(
                f"task {command.task_id} is already {task.state}",
                status=self._state.value,
                code="task_closed",
                params={"task_id": command.task_id},
            )
        if task.department is not command.actor.department:
            raise NotPermitted(
                f"task {command.task_id} belongs to {task.department}",
                status=self._state.value,
                code="task_of_another_department",
                params={"task_id": command.task_id, "department": task.department.value},
            )
        return task

    def _answer(self, message: str = "") -> FeedbackResult:
        return FeedbackResult(
            feedback_id=self._input.feedback_id,
            state=self._state,
            task_id=self._task.task_id if self._task else None,
            message=message,
        )

    def _summary(self) -> summaries.Summary:
        """The inbox line: no personal data, the message stays on the feedback itself."""
        request = self._request
        return summaries.feedback(request.kind.value, request.channel.value, request.order_id)

    def _record(
        self,
        kind: FeedbackEventKind,
        *,
        actor: Actor | None = None,
        note: str = "",
        task: Task | None = None,
        data: dict[str, str | int | bool | None] | None = None,
    ) -> None:
        self._seq += 1
        self._events.append(
            FeedbackEvent(
                seq=self._seq,
                at=workflow.now(),
                kind=kind,
                actor=actor or SYSTEM_ACTOR,
                note=note[:1000],
                task_id=task.task_id if task else None,
                data=data or {},
            )
        )

    def _task_changed(self, task: Task) -> None:
        # TaskBook keys tasks by the feedback; the inbox shows the order it is about, if any.
        task.order_id = self._request.order_id
        self._revision += 1
        task.revision = self._revision
        self._changed[task.task_id] = task.model_copy()

    async def _task_deadline(self, task: Task, stage: DeadlineStage) -> None:
        """The first-reply deadline's reminder or breach, recorded like an order task's."""
        for kind, data in mark_deadline(task, stage):
            self._record(FeedbackEventKind(kind), task=task, data=data)
        self._task_changed(task)
        await self._flush()

    async def _flush(self) -> None:
        """Write what changed to the read model, then keep the Temporal UI's view current."""
        async with self._flush_lock:
            events, self._events = self._events, []
            changed, self._changed = self._changed, {}
            if events or changed:
                self._revision += 1
                await workflow.execute_local_activity_method(
                    FeedbackActivities.apply_feedback_changes,
                    FeedbackChanges(
                        view=self.view(),
                        revision=self._revision,
                        fingerprint=self._input.fingerprint,
                        events=events,
                        tasks=list(changed.values()),
                    ),
                    start_to_close_timeout=DB_TIMEOUT,
                    retry_policy=DB_RETRY,
                    summary=f"record {', '.join(e.kind.value for e in events) or 'task'}",
                )
            self._sync_search_attributes()

    def _sync_search_attributes(self) -> None:
        task = self._task
        open_task = task is not None and task.is_open
        wanted: dict[str, Any] = {
            sa.PENDING_DEPARTMENT.name: task.department.value if task and open_task else None,
            sa.OVERDUE.name: bool(task and open_task and task.overdue),
        }
        updates: list[SearchAttributeUpdate[Any]] = []
        for key in (sa.PENDING_DEPARTMENT, sa.OVERDUE):
            value = wanted[key.name]
            if self._search.get(key.name) != value:
                updates.append(key.value_unset() if value is None else key.value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)
            self._search = wanted
        due = self._received_at + self._input.policy.first_reply_deadline
        flag = " **OVERDUE**" if wanted[sa.OVERDUE.name] else ""
        workflow.set_current_details(
            f"**Feedback:** {self._summary()}\n**State:** {self._state.value}\n"
            f"**First reply due:** {due:%Y-%m-%d %H:%M} UTC{flag}"
        )
