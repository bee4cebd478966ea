"""Staff work on an order's tasks: closing one done outside the system, claiming one."""

from __future__ import annotations

from datetime import datetime

from domain.commands import ClaimTaskCommand, CompleteTaskCommand
from domain.errors import ActionNotAllowed
from domain.events import EventKind
from domain.order.base import OrderBase, decides
from domain.order.decision import Reply
from domain.tasks import NOTE_TASKS, TaskKind


class Work(OrderBase):
    def check_complete_task(self, command: CompleteTaskCommand, now: datetime) -> None:
        task = self._task_for(command.task_id, command.actor)
        if task.kind not in NOTE_TASKS:
            raise ActionNotAllowed(
                f"a {task.kind} task is closed by its own action, not a note",
                status=self.state.status,
                code="task_closed_by_its_action",
                params={"task_kind": task.kind.value},
            )

    @decides
    def complete_task(self, command: CompleteTaskCommand) -> Reply:
        """Close a task whose work happened outside the system (a call, a booking)."""
        self.check_complete_task(command, self.now)
        task = self._task_for(command.task_id, command.actor)
        closed = self._close_task(task, command.actor, "done")
        if task.kind is TaskKind.RECONCILE_REMITTANCE:
            # P2.1: finance settled the cash on delivery with the carrier by hand.
            self._remittance_settled()
        self._record(
            EventKind.TASK_COMPLETED,
            actor=command.actor,
            note=command.note,
            task=task,
            data={"kind": task.kind.value, **closed},
        )
        return Reply(task_id=task.task_id)

    def check_claim_task(self, command: ClaimTaskCommand, now: datetime) -> None:
        task = self._task_for(command.task_id, command.actor)
        state = self.state
        state.tasks.check_claim(task, state.policy.claim_limit, status=state.status.value)

    @decides
    def claim_task(self, command: ClaimTaskCommand) -> Reply:
        """Claim, release or hand over a task within its department."""
        self.check_claim_task(command, self.now)
        task = self._task_for(command.task_id, command.actor)
        previous = self.state.tasks.claim(task, command.assignee)
        self._task_changed(task)
        self._record(
            EventKind.TASK_CLAIMED,
            actor=command.actor,
            task=task,
            data={"assignee": command.assignee, "previous": previous},
        )
        return Reply(task_id=task.task_id)
