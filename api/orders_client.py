"""How the API talks to order workflows: start, query, and run a staff action as an Update."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.concurrency import run_in_threadpool
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.service import RPCError

from api.deps import AppState
from api.errors import ApiError, conflict, from_update_failure, is_closed, is_not_found, not_found
from config.settings import Settings
from db import queries
from domain.actions import Action
from domain.actors import Actor
from domain.commands import ActionResult, ReceiveCommand, Received
from domain.ids import order_workflow_id
from domain.order.details import NewOrder
from domain.states import OrderStatus
from workflows import search_attributes as sa
from workflows.contracts import OrderWorkflowInput
from workflows.order import OrderWorkflow


def order_handle(state: AppState, order_id: str) -> WorkflowHandle[OrderWorkflow, Any]:
    return state.client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))


def _summary(order: NewOrder) -> str:
    """The Temporal UI's one-line summary: no personal data (rule 7)."""
    units = sum(line.quantity for line in order.items)
    return (
        f"Order {order.order_id} · {order.kind.value} · {len(order.items)} line(s), "
        f"{units} unit(s) · {order.total} {order.payment.status.value}"
    )


async def start_order(
    client: Client, settings: Settings, order: NewOrder, submitted_by: Actor, fingerprint: str
) -> Received:
    """Hand the order to its workflow as `POST /orders` does: start it (or find it running)
    with the `receive` update, answered once intake validated and recorded it (P2.2).

    Raises WorkflowUpdateFailedError when the order id is running with another body, and
    WorkflowAlreadyStartedError when it belongs to an order that has ended.
    """
    start = WithStartWorkflowOperation(
        OrderWorkflow.run,
        OrderWorkflowInput(
            order=order, policy=settings.policy, submitted_by=submitted_by, fingerprint=fingerprint
        ),
        id=order_workflow_id(order.order_id),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=_summary(order),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.ORDER_STATUS, OrderStatus.RECEIVED.value),
                SearchAttributePair(sa.CUSTOMER_ID, order.customer.id),
                SearchAttributePair(sa.ORDER_TOTAL, float(order.total)),
                SearchAttributePair(sa.OVERDUE, False),
            ]
        ),
    )
    received: Received = await client.execute_update_with_start_workflow(
        OrderWorkflow.receive,
        ReceiveCommand(actor=submitted_by, fingerprint=fingerprint),
        start_workflow_operation=start,
    )
    return received


def update_id(action: Action, idempotency_key: str | None) -> str:
    """The Idempotency-Key becomes the update id (rule 2), scoped by action."""
    return (
        f"{action.value}:{idempotency_key}" if idempotency_key else f"{action.value}:{uuid.uuid4()}"
    )


async def recorded_status(state: AppState, order_id: str) -> str | None:
    def read() -> str | None:
        with state.db.read() as conn:
            return queries.order_status(conn, order_id)

    return await run_in_threadpool(read)


async def run_update(
    state: AppState,
    order_id: str,
    action: Action,
    update: Any,
    command: Any,
    idempotency_key: str | None,
) -> ActionResult:
    """Send a staff action to the order; 200 with the new status, or the refusal as an error."""
    handle = order_handle(state, order_id)
    try:
        result: ActionResult = await handle.execute_update(
            update, command, id=update_id(action, idempotency_key)
        )
        return result
    except WorkflowUpdateFailedError as error:
        raise from_update_failure(error) from None
    except RPCError as error:
        if is_closed(error):
            status = await recorded_status(state, order_id)
            raise conflict(
                f"the order is closed ({status}); {action.value} is not possible",
                status,
                "order_closed",
                {"status": status or ""},
            ) from None
        if is_not_found(error):
            raise not_found(f"order {order_id}") from None
        raise ApiError(503, "the order service is unavailable, try again") from None


async def send_signal(state: AppState, order_id: str, signal: Any, payload: Any) -> None:
    try:
        await order_handle(state, order_id).signal(signal, payload)
    except RPCError as error:
        if is_not_found(error):
            status = await recorded_status(state, order_id)
            if status is None:
                raise not_found(f"order {order_id}") from None
            raise conflict(
                f"the order is closed ({status})", status, "order_closed", {"status": status}
            ) from None
        raise ApiError(503, "the order service is unavailable, try again") from None
