"""How the API talks to order workflows: start, query, and run a staff action as an Update."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.concurrency import run_in_threadpool
from temporalio.client import (
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError

from api.deps import AppState
from api.errors import ApiError, conflict, from_update_failure, is_closed, is_not_found, not_found
from db import queries
from domain.actions import Action
from domain.commands import ActionResult
from domain.ids import order_workflow_id
from domain.order.details import OrderKind
from workflows.order import OrderWorkflow


def order_handle(state: AppState, order_id: str) -> WorkflowHandle[OrderWorkflow, Any]:
    return state.client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))


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


async def recorded_kind(state: AppState, order_id: str) -> OrderKind | None:
    """The order's kind (goods, service) as recorded; None for an order not on record."""

    def read() -> OrderKind | None:
        with state.db.read() as conn:
            kind = queries.order_kind(conn, order_id)
            return OrderKind(kind) if kind else None

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
        if is_not_found(error):
            # Closed (or closing as the update arrived: the server then names no completion):
            # an order on record whose workflow cannot take the update is closed.
            status = await recorded_status(state, order_id)
            if status is None and not is_closed(error):
                raise not_found(f"order {order_id}") from None
            raise conflict(
                f"the order is closed ({status}); {action.value} is not possible",
                status,
                "order_closed",
                {"status": status or ""},
            ) from None
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
