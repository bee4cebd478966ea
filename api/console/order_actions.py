"""The order actions the console offers, each run through the API route that serves it.

Which actions a department may take in which status is `domain.actions` (via
`allowed_actions`), checked again by the role matrix for the endpoint each action
runs. On top of that an action on a case, a refund or a task is offered once per
open thing it can act on, as the workflow's validators require: a change decision
needs the change's open `review_change` task, finishing a refund by hand needs a
refund the gateway refused (`failed`), closing a task with a note needs an open task
of the department of a kind closed that way (`NOTE_TASKS`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from api.console.endpoints import Endpoint, admits_route, endpoint_of
from api.deps import AppState
from api.routes import actions, changes, exceptions, services, tasks
from api.schemas import OrderPublic
from db.staff import StaffMember
from domain.actions import Action, allowed_actions
from domain.actors import Department
from domain.cases import CaseKind
from domain.commands import (
    AppointmentRequest,
    BackorderRequest,
    CancelRequest,
    CauseRequest,
    ChangeRequest,
    CompleteRefundRequest,
    CorrectionRequest,
    DecisionRequest,
    DispatchRequest,
    ExceptionDecisionRequest,
    InspectionRequest,
    PackRequest,
    PaymentEventRequest,
    ReturnRequest,
    ReviewRequest,
    ServiceComplaintRequest,
    ServiceConfirmationRequest,
    ServiceWorkRequest,
    SupplierClaimRequest,
    TaskNoteRequest,
    TrackingRequest,
)
from domain.ledger import RefundState
from domain.tasks import NOTE_TASKS, TaskKind


class Target(StrEnum):
    """What, besides the order, an action is about."""

    ORDER = "order"
    CASE = "case"
    REFUND = "refund"
    TASK = "task"


#: (state, staff, order id, target id, request body, idempotency key) -> the API's answer.
Sender = Callable[[AppState, StaffMember, str, str, Any, str | None], Awaitable[Any]]


@dataclass(frozen=True)
class OrderAction:
    action: Action
    body: type[BaseModel]
    target: Target
    #: The API route function that runs it (the console calls it as the API does).
    route: Callable[..., Awaitable[Any]]
    send: Sender
    #: For an action on a case or a task: the open task that makes it possible.
    task_kinds: frozenset[TaskKind] = frozenset()

    @property
    def endpoint(self) -> Endpoint:
        return endpoint_of(self.route)

    def admits(self, department: Department) -> bool:
        """The role matrix's answer for the endpoint this action runs."""
        return admits_route(department, self.route)


def _on_order(route: Callable[..., Awaitable[Any]], *, keyed: bool = True) -> Sender:
    async def send(
        state: AppState, staff: StaffMember, order_id: str, _: str, body: Any, key: str | None
    ) -> Any:
        if keyed:
            return await route(order_id, body, staff, state, key)
        return await route(order_id, body, staff, state)  # a signal: its event id dedupes

    return send


def _on_target(route: Callable[..., Awaitable[Any]]) -> Sender:
    async def send(
        state: AppState, staff: StaffMember, order_id: str, target: str, body: Any, key: str | None
    ) -> Any:
        return await route(order_id, target, body, staff, state, key)

    return send


async def _complete_task(
    state: AppState, staff: StaffMember, _: str, task_id: str, body: Any, key: str | None
) -> Any:
    return await tasks.complete_task(task_id, body, staff, state, key)


def _action(
    action: Action,
    body: type[BaseModel],
    route: Callable[..., Awaitable[Any]],
    *,
    target: Target = Target.ORDER,
    task_kinds: frozenset[TaskKind] = frozenset(),
    send: Sender | None = None,
    keyed: bool = True,
) -> OrderAction:
    if send is None:
        send = _on_order(route, keyed=keyed) if target is Target.ORDER else _on_target(route)
    return OrderAction(action, body, target, route, send, task_kinds)


def _one(kind: TaskKind) -> frozenset[TaskKind]:
    return frozenset({kind})


#: In the order the forms appear: the main line first, then changes, exceptions, money.
ORDER_ACTIONS: dict[Action, OrderAction] = {
    a.action: a
    for a in (
        _action(Action.CORRECT, CorrectionRequest, actions.correct),
        _action(Action.REVIEW, ReviewRequest, actions.review),
        _action(Action.RECORD_BACKORDER, BackorderRequest, actions.record_backorder),
        _action(Action.PACK, PackRequest, actions.pack),
        _action(Action.DISPATCH, DispatchRequest, actions.dispatch),
        _action(Action.TRACKING, TrackingRequest, actions.tracking, keyed=False),
        # P1.2 service orders: the visit, the work on site, the customer's confirmation.
        _action(Action.SCHEDULE_SERVICE, AppointmentRequest, services.schedule_service),
        _action(Action.RECORD_SERVICE_WORK, ServiceWorkRequest, services.record_service_work),
        _action(Action.CONFIRM_SERVICE, ServiceConfirmationRequest, services.confirm_service),
        _action(Action.SERVICE_COMPLAINT, ServiceComplaintRequest, services.service_complaint),
        _action(
            Action.DECIDE_CHANGE,
            DecisionRequest,
            changes.decide_change,
            target=Target.CASE,
            task_kinds=_one(TaskKind.REVIEW_CHANGE),
        ),
        _action(Action.REQUEST_CHANGE, ChangeRequest, changes.request_change),
        _action(Action.CANCEL, CancelRequest, changes.cancel),
        _action(
            Action.DECIDE_LOGISTICS_EXCEPTION,
            ExceptionDecisionRequest,
            exceptions.decide_exception,
            target=Target.CASE,
            task_kinds=_one(TaskKind.HANDLE_LOGISTICS_EXCEPTION),
        ),
        _action(
            Action.RECORD_LOGISTICS_CAUSE,
            CauseRequest,
            exceptions.record_cause,
            target=Target.CASE,
            task_kinds=_one(TaskKind.INVESTIGATE_LOGISTICS_EXCEPTION),
        ),
        _action(Action.REQUEST_RETURN, ReturnRequest, exceptions.request_return),
        _action(
            Action.DECIDE_RETURN,
            DecisionRequest,
            exceptions.decide_return,
            target=Target.CASE,
            task_kinds=_one(TaskKind.REVIEW_RETURN),
        ),
        _action(
            Action.INSPECT_RETURN,
            InspectionRequest,
            exceptions.inspect_return,
            target=Target.CASE,
            task_kinds=_one(TaskKind.INSPECT_RETURN),
        ),
        _action(
            Action.SUPPLIER_CLAIM,
            SupplierClaimRequest,
            exceptions.supplier_claim,
            target=Target.CASE,
            task_kinds=_one(TaskKind.SUPPLIER_FOLLOW_UP),
        ),
        _action(
            Action.COMPLETE_REFUND,
            CompleteRefundRequest,
            exceptions.complete_refund,
            target=Target.REFUND,
        ),
        _action(
            Action.COMPLETE_TASK,
            TaskNoteRequest,
            tasks.complete_task,
            target=Target.TASK,
            task_kinds=NOTE_TASKS,
            send=_complete_task,
        ),
        _action(Action.PAYMENT_EVENT, PaymentEventRequest, exceptions.payment_event, keyed=False),
    )
}

#: Actions that are not a form on the order page: claiming is a button in the inbox.
NOT_FORMS: frozenset[Action] = frozenset({Action.CLAIM_TASK})


@dataclass(frozen=True)
class Offer:
    """One form on the order page: an action, and the case, refund or task it is about."""

    action: OrderAction
    target: str = ""
    #: What the target is, for the form's heading (a task's kind, a case's kind).
    about: str = ""


def _blocked_correction(order: OrderPublic, department: Department) -> bool:
    """P2.2: the faulty data is corrected by the department that owns it."""
    return any(
        t.kind == TaskKind.CORRECT_ORDER.value and t.department is not department
        for t in order.open_tasks
    )


def _return_open(order: OrderPublic) -> bool:
    kinds = (CaseKind.RETURN, CaseKind.EXCHANGE)
    return any(c.kind in kinds and c.is_open for c in order.cases)


def _service_performed(order: OrderPublic) -> bool:
    """P4: a service whose work was done (a rework visit due included) is not changed or
    cancelled: a complaint decides."""
    return any(visit.done_at is not None for visit in order.service_visits)


def offers(order: OrderPublic, department: Department) -> list[Offer]:
    """The forms this department gets on this order now."""
    # P1.2: a service order gets no goods' forms, goods no visit's.
    allowed = set(allowed_actions(order.status, department, order.kind))
    found: list[Offer] = []
    for spec in ORDER_ACTIONS.values():
        if spec.action not in allowed or not spec.admits(department):
            continue
        if spec.target is Target.ORDER:
            if spec.action is Action.CORRECT and _blocked_correction(order, department):
                continue
            if spec.action is Action.REQUEST_RETURN and _return_open(order):
                continue
            amends = spec.action in (Action.CANCEL, Action.REQUEST_CHANGE)
            if amends and _service_performed(order):
                continue
            found.append(Offer(spec))
        elif spec.target is Target.REFUND:
            found += [
                Offer(spec, r.refund_id, r.reason)
                for r in order.refunds
                if r.state is RefundState.FAILED
            ]
        else:
            for task in order.open_tasks:
                if TaskKind(task.kind) not in spec.task_kinds or task.department is not department:
                    continue
                if spec.target is Target.CASE and task.case_id:
                    found.append(Offer(spec, task.case_id, task.kind))
                elif spec.target is Target.TASK:
                    found.append(Offer(spec, task.task_id, task.kind))
    return found
