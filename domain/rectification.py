"""One rectification request of the supervision group (P8.1.3), as a pure aggregate.

A supervision finding opens an item for the department answerable for it, owned by a
named person (the department's lead by default, chosen when the item is opened: the
workflow cannot read the staff table) and due by a deadline. Its one open task sits in
the department's inbox, reminded and escalated to the department's leads like every task
(domain/task_book.py). The department answers (cause, corrective action, evidence);
supervision verifies: accepted closes the item, rejected reopens it with a new deadline
and a new task. Every transition is an event with its actor and time.

    open ──answer──► answered ──verify(accepted)──► closed
      ▲                  │
      └──verify(rejected: new deadline, new task)

Like the order and feedback aggregates, each command takes `now` and returns what happened
or raises the refusal before anything changes; `RectificationWorkflow` is its shell.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain import summaries
from domain.actors import Actor, Department
from domain.errors import ActionNotAllowed, NotPermitted
from domain.one_task_case import OneTaskCase
from domain.policy import PolicySettings
from domain.task_book import TaskBook
from domain.tasks import Task, TaskKind
from domain.trust import NonceBook

#: Who verifies an answer (P8.1.3: the supervision group).
VERIFIERS: frozenset[Department] = frozenset({Department.SUPERVISION})


class RectificationState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class RectificationEventKind(StrEnum):
    OPENED = "opened"
    ANSWERED = "answered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TASK_CLAIMED = "task_claimed"
    TASK_REMINDED = "task_reminded"
    TASK_OVERDUE = "task_overdue"
    TASK_ESCALATED = "task_escalated"


def rectification_item_id(order_id: str, rule: str, event_seq: int) -> str:
    """An item's id, from its key in the read model (order or subject, rule, event seq)."""
    digest = hashlib.sha256(f"{order_id}|{rule}|{event_seq}".encode()).hexdigest()[:16]
    return f"RI-{digest}"


def rectification_workflow_id(item_id: str) -> str:
    """The business key of an item's workflow (architecture rule 1)."""
    return f"rectification-{item_id}"


def order_of(subject: str) -> str | None:
    """The order an item is about: its key is the order id, or a subject (`task:…`,
    `feedback:…`) for a finding of no order; ':' never occurs in an order id."""
    return None if ":" in subject else subject


class RectificationItemInput(BaseModel):
    """An item as the supervision run opened it in the read model (and starts its workflow)."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    order_id: str | None
    rule: str
    clause: str
    department: Department
    message: str
    found_at: datetime
    #: The member of staff answerable for it (the department's lead when it was opened);
    #: None when the department had no lead.
    owner: str | None = None
    #: How long the department has to answer, each round (OMS_RECTIFICATION_DEADLINE).
    deadline: timedelta
    #: The reminder fraction and the claim limit of tasks.
    policy: PolicySettings = PolicySettings()


class RectificationAnswerCommand(BaseModel):
    """The department's answer (P8.1.3)."""

    model_config = ConfigDict(extra="forbid")

    cause: str = Field(min_length=1, max_length=1000)
    corrective_action: str = Field(min_length=1, max_length=1000)
    evidence: str = Field(min_length=1, max_length=2000)
    actor: Actor


class RectificationVerifyCommand(BaseModel):
    """Supervision's verification of the answer: accepted closes, rejected reopens."""

    model_config = ConfigDict(extra="forbid")

    accepted: bool
    note: str = Field(default="", max_length=1000)
    actor: Actor


class RectificationEvent(BaseModel):
    seq: int
    at: datetime
    kind: RectificationEventKind
    actor: Actor
    note: str = ""
    task_id: str | None = None
    data: dict[str, str | int | bool | None] = {}


class RectificationAnswer(BaseModel):
    round: int
    at: datetime
    by: str
    cause: str
    corrective_action: str
    evidence: str


class RectificationView(BaseModel):
    """The item as the read model and the API show it."""

    item_id: str
    order_id: str | None
    rule: str
    clause: str
    department: Department
    message: str
    owner: str | None
    state: RectificationState
    round: int
    found_at: datetime
    due_at: datetime
    answer: RectificationAnswer | None = None
    verified_at: datetime | None = None
    verified_by: str | None = None
    verification_note: str | None = None
    closed_at: datetime | None = None
    task: Task | None = None


class RectificationResult(BaseModel):
    """What every accepted action on an item answers."""

    item_id: str
    state: RectificationState
    round: int
    due_at: datetime
    task_id: str | None = None


class RectificationChanges(BaseModel):
    """What changed in one step of an item, written in one transaction."""

    view: RectificationView
    revision: int
    events: list[RectificationEvent] = []
    tasks: list[Task] = []


class RecordedRectification(BaseModel):
    item_id: str
    revision: int
    events: list[RectificationEvent] = []


class RectificationClosed(BaseModel):
    item_id: str
    state: RectificationState
    rounds: int
    closed_at: datetime | None


class RectificationRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: RectificationItemInput
    state: RectificationState = RectificationState.OPEN
    round: int = 1
    due_at: datetime
    answer: RectificationAnswer | None = None
    verified_at: datetime | None = None
    verified_by: str | None = None
    verification_note: str | None = None
    closed_at: datetime | None = None
    task_id: str | None = None
    tasks: TaskBook
    seq: int = 0
    revision: int = 0
    nonces: NonceBook = NonceBook()


@dataclass
class RectificationDecision:
    events: list[RectificationEvent] = field(default_factory=list)
    #: An item asks nothing of the world outside: the read-model write is all.
    requests: list[Any] = field(default_factory=list)


def task_book_prefix(item_id: str) -> str:
    """Prefix of an item's task ids; ':' never occurs in an order id, so no clash."""
    return f"rectification:{item_id}"


class Rectification(OneTaskCase[RectificationDecision]):
    event_type = RectificationEvent
    event_kinds = RectificationEventKind
    task_owner = "rectification"
    record: RectificationRecord

    def __init__(self, record: RectificationRecord) -> None:
        self.record = record
        self._events: list[RectificationEvent] = []
        self._tasks: dict[str, Task] = {}
        self._decision = RectificationDecision()
        self._now = record.item.found_at

    def _new_decision(self) -> RectificationDecision:
        return RectificationDecision()

    def _claim_limit(self) -> int:
        return self.record.item.policy.claim_limit

    @classmethod
    def new(cls, item: RectificationItemInput, now: datetime) -> Rectification:
        record = RectificationRecord(
            item=item,
            due_at=now + item.deadline,
            tasks=TaskBook(prefix=task_book_prefix(item.item_id), order_id=item.order_id),
        )
        return cls(record)

    # --- commands ----------------------------------------------------------------------

    def start(self, now: datetime) -> RectificationDecision:
        """Opened (P8.1.3): the department's task, given to the owner, due by the deadline."""
        self._begin(now)
        item = self.record.item
        task = self._open_task(now)
        self._record(
            RectificationEventKind.OPENED,
            task=task,
            data={
                "rule": item.rule,
                "clause": item.clause,
                "department": item.department.value,
                "owner": item.owner,
                "due_at": task.due_at.isoformat(),
            },
        )
        return self._decision

    def check_answer(self, command: RectificationAnswerCommand, now: datetime) -> None:
        department = self.record.item.department
        if command.actor.department is not department:
            raise NotPermitted(
                f"this rectification is {department.value}'s to answer (P8.1), "
                f"not {command.actor.department.value}'s",
                status=self.record.state.value,
                code="rectification_not_for_department",
                params={"department": department.value},
            )
        self._require(RectificationState.OPEN, "answer")

    def answer(self, command: RectificationAnswerCommand, now: datetime) -> RectificationDecision:
        """The department says why it happened, what it did and what shows it (P8.1.3)."""
        self.check_answer(command, now)
        self._begin(now)
        record = self.record
        record.answer = RectificationAnswer(
            round=record.round,
            at=now,
            by=command.actor.staff_id,
            cause=command.cause,
            corrective_action=command.corrective_action,
            evidence=command.evidence,
        )
        record.state = RectificationState.ANSWERED
        task = self.open_task()
        closed: dict[str, str | bool] = {}
        if task is not None:
            closed = TaskBook.close(task, command.actor, "answered", now)
            self._task_changed(task)
        self._record(
            RectificationEventKind.ANSWERED,
            actor=command.actor,
            note=command.cause,
            task=task,
            data={"round": record.round, "on_time": now <= record.due_at, **closed},
        )
        return self._decision

    def check_verify(self, command: RectificationVerifyCommand, now: datetime) -> None:
        if command.actor.department not in VERIFIERS:
            raise NotPermitted(
                f"supervision verifies rectifications (P8.1), not {command.actor.department.value}",
                status=self.record.state.value,
                code="rectification_verified_by_supervision",
                params={"department": command.actor.department.value},
            )
        self._require(RectificationState.ANSWERED, "verify")
        if not command.accepted and not command.note.strip():
            raise ActionNotAllowed(
                "a rejected answer needs a note saying what is missing (P8.1)",
                status=self.record.state.value,
                code="rejection_needs_note",
            )

    def verify(self, command: RectificationVerifyCommand, now: datetime) -> RectificationDecision:
        """Accepted: the item is closed. Rejected: reopened, with a new deadline and task."""
        self.check_verify(command, now)
        self._begin(now)
        record = self.record
        record.verified_at = now
        record.verified_by = command.actor.staff_id
        record.verification_note = command.note
        if command.accepted:
            record.state = RectificationState.CLOSED
            record.closed_at = now
            self._record(
                RectificationEventKind.ACCEPTED,
                actor=command.actor,
                note=command.note,
                data={"round": record.round},
            )
            return self._decision
        record.state = RectificationState.OPEN
        record.round += 1
        record.due_at = now + record.item.deadline
        task = self._open_task(now)
        self._record(
            RectificationEventKind.REJECTED,
            actor=command.actor,
            note=command.note,
            task=task,
            data={"round": record.round, "due_at": record.due_at.isoformat()},
        )
        return self._decision

    # --- what the caller, the read model and the UI see --------------------------------

    @property
    def closed(self) -> bool:
        return self.record.state is RectificationState.CLOSED

    def result(self) -> RectificationResult:
        record = self.record
        return RectificationResult(
            item_id=record.item.item_id,
            state=record.state,
            round=record.round,
            due_at=record.due_at,
            task_id=record.task_id,
        )

    def view(self) -> RectificationView:
        record, item = self.record, self.record.item
        task = record.tasks.get(record.task_id) if record.task_id else None
        return RectificationView(
            item_id=item.item_id,
            order_id=item.order_id,
            rule=item.rule,
            clause=item.clause,
            department=item.department,
            message=item.message,
            owner=item.owner,
            state=record.state,
            round=record.round,
            found_at=item.found_at,
            due_at=record.due_at,
            answer=record.answer,
            verified_at=record.verified_at,
            verified_by=record.verified_by,
            verification_note=record.verification_note,
            closed_at=record.closed_at,
            task=task.model_copy() if task else None,
        )

    def take_writes(self) -> RectificationChanges | None:
        if not self._events and not self._tasks:
            return None
        self.record.revision += 1
        changes = RectificationChanges(
            view=self.view(),
            revision=self.record.revision,
            events=self._events,
            tasks=list(self._tasks.values()),
        )
        self._events, self._tasks = [], {}
        return changes

    def written(self, changes: RectificationChanges) -> None:
        """Nothing follows a write: the live view is the state."""

    def details(self) -> str:
        """The Temporal UI's "current details": rule, department, state, deadline."""
        record, item = self.record, self.record.item
        task = self.open_task()
        flag = " **OVERDUE**" if task is not None and task.overdue else ""
        return (
            f"**Rectification:** {item.rule} ({item.clause}) for {item.department.value}\n"
            f"**State:** {record.state.value}, round {record.round}\n"
            f"**Due:** {record.due_at:%Y-%m-%d %H:%M} UTC{flag}"
        )

    # --- the record --------------------------------------------------------------------

    def _require(self, state: RectificationState, action: str) -> None:
        if self.record.state is not state:
            raise ActionNotAllowed(
                f"{action} is not possible while the rectification is {self.record.state.value} "
                "(P8.1)",
                status=self.record.state.value,
                code="rectification_not_now",
                params={
                    "rectification_step": action,
                    "rectification_state": self.record.state.value,
                },
            )

    def _open_task(self, now: datetime) -> Task:
        record, item = self.record, self.record.item
        task = record.tasks.open(
            TaskKind.RECTIFY,
            now,
            item.policy,
            department=item.department,
            summary=summaries.rectify(item.rule, item.clause, record.round),
            case_id=item.item_id,
            deadline=item.deadline,
        )
        task.assignee = item.owner
        record.task_id = task.task_id
        self._task_changed(task)
        return task
