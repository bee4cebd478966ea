"""The open and closed human tasks of one order, and the timers that watch their deadlines.

Each task gets a watcher coroutine: a timer to the reminder time, then one to
the deadline. If the task is still open when a timer fires, the workflow is told
(`on_deadline`), which records a reminder or marks the task overdue and
escalates it. A task closed in time cancels its timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.actors import Actor, Department
    from domain.policy import PolicySettings
    from domain.summaries import Summary
    from domain.tasks import TASK_DEPARTMENT, Task, TaskKind, TaskState

DeadlineStage = Literal["remind", "due"]


class TaskBook:
    def __init__(
        self,
        order_id: str,
        policy: PolicySettings,
        on_change: Callable[[Task], None],
        on_deadline: Callable[[Task, DeadlineStage], Awaitable[None]],
    ) -> None:
        self._order_id = order_id
        self._policy = policy
        self._on_change = on_change
        self._on_deadline = on_deadline
        self._tasks: dict[str, Task] = {}
        # The workflow's event loop holds tasks weakly, like asyncio's: keep the watchers.
        self._watchers: set[asyncio.Task[None]] = set()

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._tasks.values())

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def open_tasks(self) -> list[Task]:
        return sorted((t for t in self._tasks.values() if t.is_open), key=lambda t: t.due_at)

    def find_open(self, kind: TaskKind, case_id: str | None = None) -> Task | None:
        for task in self._tasks.values():
            if task.is_open and task.kind is kind and (case_id is None or task.case_id == case_id):
                return task
        return None

    def open(
        self,
        kind: TaskKind,
        *,
        department: Department | None = None,
        summary: Summary | None = None,
        case_id: str | None = None,
        deadline: timedelta | None = None,
    ) -> Task:
        now = workflow.now()
        due = deadline if deadline is not None else self._policy.deadline_for(kind)
        task = Task(
            task_id=f"{self._order_id}-T{len(self._tasks) + 1}",
            order_id=self._order_id,
            kind=kind,
            department=department or TASK_DEPARTMENT[kind],
            opened_at=now,
            due_at=now + due,
            remind_at=now + due * self._policy.reminder_fraction,
            summary=summary.text[:300] if summary else "",
            summary_code=summary.code if summary else None,
            summary_params=summary.params if summary else {},
            case_id=case_id,
        )
        self._tasks[task.task_id] = task
        self._on_change(task)
        watcher = asyncio.create_task(self._watch(task))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return task

    def close(
        self, task: Task, actor: Actor, outcome: str, *, state: TaskState = TaskState.DONE
    ) -> dict[str, str | bool]:
        """Close the task. Returns what the event should record about who closed it.

        Another member of the department may act on a task claimed by a colleague
        (P3-P5 work is the department's); that is allowed and recorded.
        """
        task.state = state
        task.closed_at = workflow.now()
        task.closed_by = actor.staff_id
        task.outcome = outcome[:200]
        self._on_change(task)
        if task.assignee and task.assignee != actor.staff_id:
            return {"assignee": task.assignee, "acted_by_other": True}
        return {}

    def cancel_open(
        self, actor: Actor, outcome: str, kinds: set[TaskKind] | None = None
    ) -> list[Task]:
        cancelled = [t for t in self.open_tasks() if kinds is None or t.kind in kinds]
        for task in cancelled:
            self.close(task, actor, outcome, state=TaskState.CANCELLED)
        return cancelled

    def pending_departments(self) -> list[Department]:
        seen: list[Department] = []
        for task in self.open_tasks():
            if task.department not in seen:
                seen.append(task.department)
        return seen

    def any_overdue(self) -> bool:
        return any(task.overdue for task in self.open_tasks())

    async def _watch(self, task: Task) -> None:
        stages: tuple[tuple[DeadlineStage, str], ...] = (("remind", "remind_at"), ("due", "due_at"))
        for stage, attribute in stages:
            delay = getattr(task, attribute) - workflow.now()
            if delay > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: not task.is_open,
                        timeout=delay,
                        timeout_summary=f"{stage}: {task.kind} {task.task_id}",
                    )
                    return
                except TimeoutError:
                    pass
            if not task.is_open:
                return
            await self._on_deadline(task, stage)
