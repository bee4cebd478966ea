"""The human tasks of one order or one piece of feedback, and when their deadlines fall due.

Pure bookkeeping, kept in the aggregate's state: a task is opened with its
deadline from the SLA table (`PolicySettings`), a reminder at a fraction of it,
and closed by whoever did the work. The workflow keeps one timer for the nearest
reminder or deadline of all open tasks (`next_alarm`); when it rings, `ring`
marks what fell due: a reminder, or overdue and escalated to the department's
leads (P8.1, P8.2 timeliness; domain/escalation.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from domain.actors import Actor, Department
from domain.errors import ActionNotAllowed, NotFound, NotPermitted
from domain.escalation import escalation_data
from domain.policy import PolicySettings
from domain.summaries import Summary
from domain.tasks import TASK_DEPARTMENT, Task, TaskKind, TaskState

#: What a closed task's event records about who closed it (`acted_by_other`, P3-P5).
ClosedBy = dict[str, str | bool]
#: The data an event about a task's deadline carries.
DeadlineData = dict[str, str | int | bool | None]


class DeadlineStage(StrEnum):
    REMIND = "remind"
    DUE = "due"


class TaskBook(BaseModel):
    #: Task ids are `<prefix>-T<n>`: the order id, or `feedback:<id>` (':' never occurs in
    #: an order id, so the two never clash).
    prefix: str
    #: The order the tasks are about, shown in the inbox (None for feedback of no order).
    order_id: str | None
    tasks: dict[str, Task] = {}
    #: How often each task was claimed, released or handed over: each is an event of the
    #: record, so it is capped (`PolicySettings.claim_limit`).
    claims: dict[str, int] = {}

    def get(self, task_id: str) -> Task | None:
        return self.tasks.get(task_id)

    def open_tasks(self) -> list[Task]:
        """Open tasks, the soonest due first."""
        return sorted((t for t in self.tasks.values() if t.is_open), key=lambda t: t.due_at)

    def find_open(self, kind: TaskKind, case_id: str | None = None) -> Task | None:
        for task in self.tasks.values():
            if task.is_open and task.kind is kind and (case_id is None or task.case_id == case_id):
                return task
        return None

    def open_for(self, task_id: str, actor: Actor, *, status: str, owner: str) -> Task:
        """The open task a member of staff acts on; refused when there is none, it is closed,
        or it belongs to another department. `owner` names what the task is on ("order")."""
        task = self.tasks.get(task_id)
        if task is None:
            raise NotFound(
                f"no task {task_id} on this {owner}",
                status=status,
                code="no_such_task",
                params={"task_id": task_id},
            )
        if not task.is_open:
            raise ActionNotAllowed(
                f"task {task_id} is already {task.state}",
                status=status,
                code="task_closed",
                params={"task_id": task_id},
            )
        if task.department is not actor.department:
            raise NotPermitted(
                f"task {task_id} belongs to {task.department}",
                status=status,
                code="task_of_another_department",
                params={"task_id": task_id, "department": task.department.value},
            )
        return task

    def of_case(self, case_id: str) -> list[Task]:
        return [t for t in self.tasks.values() if t.is_open and t.case_id == case_id]

    def open(
        self,
        kind: TaskKind,
        now: datetime,
        policy: PolicySettings,
        *,
        department: Department | None = None,
        summary: Summary | None = None,
        case_id: str | None = None,
        deadline: timedelta | None = None,
    ) -> Task:
        due = deadline if deadline is not None else policy.deadline_for(kind)
        task = Task(
            task_id=f"{self.prefix}-T{len(self.tasks) + 1}",
            order_id=self.order_id,
            kind=kind,
            department=department or TASK_DEPARTMENT[kind],
            opened_at=now,
            due_at=now + due,
            remind_at=now + due * policy.reminder_fraction,
            summary=summary.text[:300] if summary else "",
            summary_code=summary.code if summary else None,
            summary_params=summary.params if summary else {},
            case_id=case_id,
        )
        self.tasks[task.task_id] = task
        return task

    def check_claim(self, task: Task, limit: int, *, status: str) -> None:
        if self.claims.get(task.task_id, 0) >= limit:
            raise ActionNotAllowed(
                f"task {task.task_id} has been claimed, released or handed over {limit} times: "
                "ask the department's lead",
                status=status,
                code="claim_limit_reached",
                params={"task_id": task.task_id, "limit": str(limit)},
            )

    def claim(self, task: Task, assignee: str | None) -> str | None:
        """Give the task to `assignee` (None releases it); returns who had it."""
        previous, task.assignee = task.assignee, assignee
        self.claims[task.task_id] = self.claims.get(task.task_id, 0) + 1
        return previous

    @staticmethod
    def close(
        task: Task, actor: Actor, outcome: str, now: datetime, state: TaskState = TaskState.DONE
    ) -> ClosedBy:
        """Close the task; returns what the event records about who closed it.

        Another member of the department may act on a task claimed by a colleague
        (P3-P5 work is the department's); that is allowed and recorded.
        """
        task.state = state
        task.closed_at = now
        task.closed_by = actor.staff_id
        task.outcome = outcome[:200]
        if task.assignee and task.assignee != actor.staff_id:
            return {"assignee": task.assignee, "acted_by_other": True}
        return {}

    def pending_departments(self) -> list[Department]:
        seen: list[Department] = []
        for task in self.open_tasks():
            if task.department not in seen:
                seen.append(task.department)
        return seen

    def any_overdue(self) -> bool:
        return any(task.overdue for task in self.tasks.values() if task.is_open)

    def next_alarm(self) -> datetime | None:
        """The nearest reminder or deadline still to come of all open tasks."""
        times = [when for _, _, when in self._stages()]
        return min(times, default=None)

    def ring(self, now: datetime) -> list[tuple[Task, DeadlineStage]]:
        """Mark every reminder and deadline that has come (in order): reminded; or overdue
        and escalated. Returns them, for the events the owner records."""
        due = sorted((s for s in self._stages() if s[2] <= now), key=lambda s: s[2])
        fallen = [(task, stage) for task, stage, _ in due]
        for task, stage in fallen:
            if stage is DeadlineStage.REMIND:
                task.reminded = True
            else:
                task.overdue = True
                task.escalated = True
        return fallen

    def _stages(self) -> Iterable[tuple[Task, DeadlineStage, datetime]]:
        for task in self.tasks.values():
            if not task.is_open:
                continue
            if not task.reminded and not task.overdue:
                yield task, DeadlineStage.REMIND, task.remind_at
            if not task.overdue:
                yield task, DeadlineStage.DUE, task.due_at


def deadline_events(task: Task, stage: DeadlineStage) -> list[tuple[str, DeadlineData]]:
    """The events a fallen reminder or deadline is recorded as, as (event kind, data)."""
    due: DeadlineData = {"due_at": task.due_at.isoformat()}
    if stage is DeadlineStage.REMIND:
        return [("task_reminded", due)]
    return [
        ("task_overdue", due),
        # To the department's leads by role: the workflow cannot know who they are today.
        ("task_escalated", {**escalation_data(task)}),
    ]
