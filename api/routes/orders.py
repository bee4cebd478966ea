"""Orders: the platform hands them over (P2.2); staff read them (P6.3)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.catalogue_facts import facts_for
from api.deps import CurrentStaff, Cursor, QueryTime, State, temporal_ui_link
from api.errors import conflict, from_update_failure, not_found
from api.orders_client import order_handle, recorded_status
from api.routes import CONFLICT, replayed
from api.schemas import OrderCreated, OrderList, OrderPublic, OrderSummary
from db import queries
from domain.ids import fingerprint, order_workflow_id
from domain.order.details import NewOrder
from domain.states import OrderStatus, is_terminal
from domain.view import OrderView
from workers.order_start import start_order
from workflows.order import OrderWorkflow

log = logging.getLogger("oms.api.orders")

router = APIRouter(prefix="/api/v1", tags=["orders"])


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderCreated,
    responses={**CONFLICT, **replayed(OrderCreated)},
)
async def create_order(
    body: NewOrder, staff: CurrentStaff, state: State, response: Response
) -> OrderCreated:
    """Hand over a paid or unpaid order (P2.2); idempotent on order_id.

    Answers once intake has validated and recorded the order (`under_review`, or
    `needs_correction` with a task for the department that owns the faulty data), so
    the order can be read right after; the same body again is a 200, another a 409.
    """
    body_fingerprint = fingerprint(body.model_dump(mode="json"))
    products, customer = await facts_for(state, body)
    try:
        received = await start_order(
            state.client, state.settings, body, staff.actor, body_fingerprint, products, customer
        )
    except WorkflowUpdateFailedError as error:
        raise from_update_failure(error) from None
    except WorkflowAlreadyStartedError:
        return await _closed_order(state, body, body_fingerprint, response)
    if not received.first:
        response.status_code = 200
    return OrderCreated(order_id=body.order_id, status=received.status)


async def _closed_order(
    state: State, body: NewOrder, body_fingerprint: str, response: Response
) -> OrderCreated:
    """The order id belongs to an order that has ended: the same body is that order."""
    existing, _ = await _recorded(state, body.order_id)
    if existing is None:
        raise conflict("order_id is already in use", None, "order_id_in_use")
    if existing.intake_fingerprint != body_fingerprint:
        raise conflict(
            "order_id already exists with a different body",
            existing.status.value,
            "order_id_reused",
        )
    response.status_code = 200
    return OrderCreated(order_id=body.order_id, status=existing.status)


async def _recorded(state: State, order_id: str) -> tuple[OrderView | None, list[dict[str, Any]]]:
    def read() -> tuple[OrderView | None, list[dict[str, Any]]]:
        with state.db.read() as conn:
            return queries.order_view(conn, order_id), queries.order_events_of(conn, order_id)

    return await run_in_threadpool(read)


async def _live(state: State, order_id: str) -> OrderView | None:
    """The running order's own view; None when it cannot answer now (not started yet, no
    worker, a worker still catching up), and the read model answers instead."""
    try:
        view: OrderView = await order_handle(state, order_id).query(OrderWorkflow.view)
        return view
    except (RPCError, WorkflowQueryFailedError) as error:
        log.info("live view of order %s unavailable: %s", order_id, error)
        return None


@router.get("/orders/{order_id}", response_model=OrderPublic)
async def get_order(order_id: str, staff: CurrentStaff, state: State) -> OrderPublic:
    """One order: live from its workflow while it runs, from the read model once closed.

    Phones and addresses are masked for departments whose work does not need them
    (domain/personal_data.py); `masked_fields` names them. The Temporal UI link is
    given to supervision and admin only (they alone may read histories decrypted).
    """
    status = await recorded_status(state, order_id)
    view, source = None, "read_model"
    if status is None or not is_terminal(OrderStatus(status)):
        # The live view first, the record second: an event is then either among the view's
        # unwritten events or already committed, never missing from both.
        view = await _live(state, order_id)
        source = "workflow"
    recorded, events = await _recorded(state, order_id)
    if view is None:
        view, source = recorded, "read_model"
    if view is None:
        raise not_found(f"order {order_id}")
    return OrderPublic.build(
        view,
        events,
        source=source,
        ui_url=temporal_ui_link(state, order_workflow_id(order_id)),
        department=staff.department,
    )


@router.get("/orders", response_model=OrderList)
async def list_orders(
    staff: CurrentStaff,
    state: State,
    status: OrderStatus | None = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    created_from: QueryTime | None = None,
    created_to: QueryTime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor = None,
) -> OrderList:
    """Orders, newest first, from the read model."""

    def read() -> queries.Page:
        with state.db.read() as conn:
            return queries.list_orders(
                conn,
                status=status.value if status else None,
                customer_id=customer_id,
                created_from=created_from,
                created_to=created_to,
                limit=limit,
                cursor=cursor,
            )

    page = await run_in_threadpool(read)
    return OrderList(
        items=[OrderSummary.from_row(r) for r in page.items], next_cursor=page.next_cursor
    )
