"""One piece of customer feedback handled under P7, as a pure aggregate: `Feedback`.

The feedback is received and opens a customer-service task due at the
first-reply deadline (P7.2, default 24 h), reminded and escalated like every
order task; the first reply closes the task; the feedback ends when customer
service records its result (P7.3). Like the order aggregate, each command takes
`now` and returns what happened (`FeedbackDecision`) or raises the refusal
before anything changes; `FeedbackWorkflow` is its shell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain import summaries
from domain.actors import Actor, Department
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
from domain.notices import Notice, reply_notice
from domain.notifications import NoticesSent, SendNotices
from domain.one_task_case import OneTaskCase
from domain.policy import PolicySettings
from domain.task_book import TaskBook
from domain.tasks import Task, TaskKind
from domain.trust import NonceBook


class FeedbackChanges(BaseModel):
    """What changed in one step of a piece of feedback, written in one transaction."""

    view: FeedbackView
    #: Grows with every write from the workflow; the read model keeps the highest.
    revision: int
    #: Hash of the intake request (POST /feedback is idempotent on feedback_id and body).
    fingerprint: str
    events: list[FeedbackEvent] = []
    tasks: list[Task] = []
    #: P7.2: the replies to send the customer, written to the outbox with their events.
    notices: list[Notice] = []


class RecordedFeedback(BaseModel):
    """The events a step wrote, returned so that they stand in the workflow history too."""

    feedback_id: str
    revision: int
    events: list[FeedbackEvent] = []


class FeedbackRecord(BaseModel):
    """Everything the feedback's handling decides on, as one model."""

    model_config = ConfigDict(extra="forbid")

    feedback_id: str
    request: FeedbackRequest
    policy: PolicySettings
    submitted_by: Actor
    fingerprint: str
    state: FeedbackState = FeedbackState.OPEN
    received_at: datetime
    replies: list[FeedbackReply] = []
    first_reply_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    outcome: FeedbackOutcome | None = None
    result: str | None = None
    referred_to: list[Department] = []
    #: The P7.2 reply task, the only task of a piece of feedback.
    task_id: str | None = None
    tasks: TaskBook
    seq: int = 0
    revision: int = 0
    #: The signed commands accepted within the trust window (replays are refused).
    nonces: NonceBook = NonceBook()


@dataclass
class FeedbackDecision:
    events: list[FeedbackEvent] = field(default_factory=list)
    #: Feedback asks nothing of the world outside: the read-model write is all.
    requests: list[Any] = field(default_factory=list)


def task_book_prefix(feedback_id: str) -> str:
    """Prefix of the feedback's task ids; ':' never occurs in an order id, so no clash."""
    return f"feedback:{feedback_id}"


class Feedback(OneTaskCase[FeedbackDecision]):
    event_type = FeedbackEvent
    event_kinds = FeedbackEventKind
    task_owner = "feedback"
    record: FeedbackRecord

    def __init__(self, record: FeedbackRecord) -> None:
        self.record = record
        self._events: list[FeedbackEvent] = []
        self._tasks: dict[str, Task] = {}
        self._notices: list[Notice] = []
        #: Replies written to the outbox and not yet handed to the channel.
        self._to_send: list[str] = []
        self._decision = FeedbackDecision()
        self._now = record.received_at

    def _new_decision(self) -> FeedbackDecision:
        return FeedbackDecision()

    def _claim_limit(self) -> int:
        return self.record.policy.claim_limit

    @classmethod
    def new(
        cls,
        feedback_id: str,
        request: FeedbackRequest,
        policy: PolicySettings,
        submitted_by: Actor,
        fingerprint: str,
        now: datetime,
    ) -> Feedback:
        record = FeedbackRecord(
            feedback_id=feedback_id,
            request=request,
            policy=policy,
            submitted_by=submitted_by,
            fingerprint=fingerprint,
            received_at=now,
            tasks=TaskBook(prefix=task_book_prefix(feedback_id), order_id=request.order_id),
        )
        return cls(record)

    # --- commands ----------------------------------------------------------------------

    def start(self, now: datetime) -> FeedbackDecision:
        """Received (P7.2): customer service answers by the first-reply deadline."""
        self._begin(now)
        record, request = self.record, self.record.request
        self._record(
            FeedbackEventKind.RECEIVED,
            actor=record.submitted_by,
            data={
                "kind": request.kind.value,
                "channel": request.channel.value,
                "order_id": request.order_id,
            },
        )
        task = record.tasks.open(
            TaskKind.REPLY_FEEDBACK,
            now,
            record.policy,
            summary=summaries.feedback(request.kind.value, request.channel.value, request.order_id),
            case_id=record.feedback_id,
            deadline=record.policy.first_reply_deadline,
        )
        record.task_id = task.task_id
        self._task_changed(task)
        return self._decision

    def check_reply(self, command: FeedbackReplyCommand, now: datetime) -> None:
        check_handler(command.actor.department)
        check_open(self.record.state)

    def reply(self, command: FeedbackReplyCommand, now: datetime) -> FeedbackDecision:
        """P7.2: answer the customer; the first reply closes the reply task."""
        self.check_reply(command, now)
        self._begin(now)
        record = self.record
        record.replies.append(
            FeedbackReply(
                seq=len(record.replies) + 1, at=now, actor=command.actor, message=command.message
            )
        )
        first = record.first_reply_at is None
        closed = self._answered(command.actor, "replied") if first else {}
        if record.state is FeedbackState.OPEN:
            record.state = FeedbackState.REPLIED
        self._record(
            FeedbackEventKind.REPLIED,
            actor=command.actor,
            note=command.message,
            task=self.task if first else None,
            data={"reply": len(record.replies), "first": first, **closed},
        )
        request = record.request
        self._notices.append(
            reply_notice(
                record.feedback_id,
                request.order_id,
                request.customer_id,
                len(record.replies),
                record.seq,
                command.message,
            )
        )
        return self._decision

    # --- the reply sent to the customer (P7.2) -------------------------------------------

    def follow_ups(self) -> list[SendNotices]:
        """The replies to hand to the channel, once written."""
        if not self._to_send:
            return []
        ids, self._to_send = self._to_send, []
        return [SendNotices(order_id=self.record.request.order_id, notification_ids=ids)]

    def notices_answer(self, answer: NoticesSent, now: datetime) -> FeedbackDecision:
        """A reply the channel could not deliver is on record: customer service, who owns
        the feedback, answers the customer another way (the feedback's page shows it)."""
        self._begin(now)
        for failed in answer.handed_off:
            self._record(
                FeedbackEventKind.REPLY_NOT_DELIVERED,
                data={"notification_id": failed.notification_id, "reason": failed.reason[:300]},
            )
        return self._decision

    def check_resolve(self, command: FeedbackResolveCommand, now: datetime) -> None:
        check_handler(command.actor.department)
        check_open(self.record.state)

    def resolve(self, command: FeedbackResolveCommand, now: datetime) -> FeedbackDecision:
        """P7.3: record the final result; a resolution without a reply is the first answer."""
        self.check_resolve(command, now)
        self._begin(now)
        record = self.record
        first = record.first_reply_at is None
        closed = self._answered(command.actor, "resolved") if first else {}
        record.state = FeedbackState.RESOLVED
        record.resolved_at = now
        record.resolved_by = command.actor.staff_id
        record.outcome = command.outcome
        record.result = command.result
        record.referred_to = list(dict.fromkeys(command.referred_to))
        self._record(
            FeedbackEventKind.RESOLVED,
            actor=command.actor,
            note=command.result,
            task=self.task if first else None,
            data={
                "outcome": command.outcome.value,
                "referred_to": ",".join(record.referred_to),
                **closed,
            },
        )
        return self._decision

    # --- what the caller, the read model and the UI see --------------------------------

    @property
    def task(self) -> Task | None:
        return self.record.tasks.get(self.record.task_id) if self.record.task_id else None

    @property
    def closed(self) -> bool:
        return self.record.state is FeedbackState.RESOLVED

    def result(self) -> FeedbackResult:
        return FeedbackResult(
            feedback_id=self.record.feedback_id,
            state=self.record.state,
            task_id=self.record.task_id,
        )

    def view(self) -> FeedbackView:
        record, request = self.record, self.record.request
        task = self.task
        return FeedbackView(
            feedback_id=record.feedback_id,
            kind=request.kind,
            channel=request.channel,
            customer_id=request.customer_id,
            order_id=request.order_id,
            subject=request.subject,
            message=request.message,
            state=record.state,
            received_at=record.received_at,
            received_by=record.submitted_by,
            first_reply_due_at=record.received_at + record.policy.first_reply_deadline,
            first_reply_at=record.first_reply_at,
            replies=list(record.replies),
            resolved_at=record.resolved_at,
            resolved_by=record.resolved_by,
            outcome=record.outcome,
            result=record.result,
            referred_to=list(record.referred_to),
            task=task.model_copy() if task else None,
        )

    def take_writes(self) -> FeedbackChanges | None:
        if not self._events and not self._tasks and not self._notices:
            return None
        self.record.revision += 1
        changes = FeedbackChanges(
            view=self.view(),
            revision=self.record.revision,
            fingerprint=self.record.fingerprint,
            events=self._events,
            tasks=list(self._tasks.values()),
            notices=self._notices,
        )
        self._events, self._tasks, self._notices = [], {}, []
        return changes

    def written(self, changes: FeedbackChanges) -> None:
        """The replies written are handed to the channel; the live view is the state."""
        self._to_send += [notice.notification_id for notice in changes.notices]

    def details(self) -> str:
        """The Temporal UI's "current details"; no personal data, the message stays here."""
        record, request = self.record, self.record.request
        summary = summaries.feedback(request.kind.value, request.channel.value, request.order_id)
        due = record.received_at + record.policy.first_reply_deadline
        task = self.open_task()
        flag = " **OVERDUE**" if task is not None and task.overdue else ""
        return (
            f"**Feedback:** {summary}\n**State:** {record.state.value}\n"
            f"**First reply due:** {due:%Y-%m-%d %H:%M} UTC{flag}"
        )

    # --- the record --------------------------------------------------------------------

    def _answered(self, actor: Actor, outcome: str) -> dict[str, str | bool]:
        """The customer has an answer: the first-reply time is set and the task closes."""
        self.record.first_reply_at = self._now
        task = self.open_task()
        if task is None:
            return {}
        closed = TaskBook.close(task, actor, outcome, self._now)
        self._task_changed(task)
        return closed
