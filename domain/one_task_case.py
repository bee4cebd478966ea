"""What the aggregates that carry one staff task beside their own record share: a piece of
feedback (P7.2, its reply task) and a rectification item (P8.1.3, its rectify task).

Each keeps a TaskBook, numbers its own events, and records its task's claims and deadline
stages (reminded, overdue, escalated to the leads, P8.1) as an order does. The subclass
names its event and decision types, the label its tasks are refused under, and the claim
limit of its policy; this class does the rest, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from domain.actors import SYSTEM_ACTOR, Actor
from domain.commands import ClaimTaskCommand
from domain.task_book import deadline_events
from domain.tasks import Task


class Decision(Protocol):
    events: list[Any]


DecisionT = TypeVar("DecisionT", bound=Decision)


class OneTaskCase(Generic[DecisionT]):
    #: The case's event model (seq, at, kind, actor, note, task_id, data) and its kinds,
    #: which include the task kinds `task_claimed`, `task_reminded`, `task_overdue` and
    #: `task_escalated`.
    event_type: ClassVar[type[Any]]
    event_kinds: ClassVar[type[StrEnum]]
    #: How a refusal names what the task belongs to ("feedback", "rectification").
    task_owner: ClassVar[str]

    #: The subclass's record: `seq`, `revision`, `state`, `task_id` and `tasks` (TaskBook).
    record: Any
    _now: datetime
    _decision: DecisionT
    _events: list[Any]
    _tasks: dict[str, Task]

    def _new_decision(self) -> DecisionT:
        raise NotImplementedError

    def _claim_limit(self) -> int:
        raise NotImplementedError

    # --- commands every such case takes ------------------------------------------------

    def check_claim_task(self, command: ClaimTaskCommand, now: datetime) -> None:
        task = self._task_for(command)
        self.record.tasks.check_claim(task, self._claim_limit(), status=self.record.state.value)

    def claim_task(self, command: ClaimTaskCommand, now: datetime) -> DecisionT:
        """Claim, release or hand over the task within its department."""
        self.check_claim_task(command, now)
        task = self._task_for(command)
        self._begin(now)
        previous = self.record.tasks.claim(task, command.assignee)
        self._task_changed(task)
        self._record(
            self.event_kinds("task_claimed"),
            actor=command.actor,
            task=task,
            data={"assignee": command.assignee, "previous": previous},
        )
        return self._decision

    def next_alarm(self) -> datetime | None:
        return self.record.tasks.next_alarm()  # type: ignore[no-any-return]

    def ring(self, now: datetime) -> DecisionT:
        """The task's reminder, or its breach: overdue and escalated to the leads (P8.1)."""
        self._begin(now)
        for task, stage in self.record.tasks.ring(now):
            for kind, data in deadline_events(task, stage):
                self._record(self.event_kinds(kind), task=task, data=data)
            self._task_changed(task)
        return self._decision

    def open_task(self) -> Task | None:
        record = self.record
        task: Task | None = record.tasks.get(record.task_id) if record.task_id else None
        return task if task is not None and task.is_open else None

    # --- the record --------------------------------------------------------------------

    def _task_for(self, command: ClaimTaskCommand) -> Task:
        return self.record.tasks.open_for(  # type: ignore[no-any-return]
            command.task_id, command.actor, status=self.record.state.value, owner=self.task_owner
        )

    def _begin(self, now: datetime) -> None:
        self._now = now
        self._decision = self._new_decision()

    def _task_changed(self, task: Task) -> None:
        self.record.revision += 1
        task.revision = self.record.revision
        self._tasks[task.task_id] = task

    def _record(
        self,
        kind: StrEnum,
        *,
        actor: Actor | None = None,
        note: str = "",
        task: Task | None = None,
        data: dict[str, str | int | bool | None] | None = None,
    ) -> None:
        self.record.seq += 1
        event = self.event_type(
            seq=self.record.seq,
            at=self._now,
            kind=kind,
            actor=actor or SYSTEM_ACTOR,
            note=note[:1000],
            task_id=task.task_id if task else None,
            data=data or {},
        )
        self._events.append(event)
        self._decision.events.append(event)
