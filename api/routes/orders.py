"""Orders: the platform hands them over (P2.2); staff read them (P6.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.deps import CurrentStaff, State, require
from api.errors import ApiError, conflict, not_found
from api.orders_client import order_handle, start_order
from api.schemas import OrderCreated, OrderList, OrderPublic, OrderSummary
from db import queries
from db.staff import StaffMember
from domain.actors import Department
from domain.ids import fingerprint, order_workflow_id
from domain.order import NewOrder
from domain.states import OrderStatus, is_terminal
from domain.view import OrderView
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/api/v1", tags=["orders"])

Platform = Annotated[StaffMember, Depends(require(Department.PLATFORM))]


@router.post("/orders", status_code=201, response_model=OrderCreated)
async def create_order(
    body: NewOrder, staff: Platform, state: State, response: Response
) -> OrderCreated:
    """Hand over a paid or unpaid order (P2.2); idempotent on order_id."""
    body_fingerprint = fingerprint(body.model_dump(mode="json"))
    try:
        await start_order(state.client, state.settings, body, staff.actor, body_fingerprint)
    except WorkflowAlreadyStartedError:
        existing = await _current_view(state, body.order_id)
        if existing is None:
            raise conflict("order_id is already in use", None) from None
        if existing.intake_fingerprint != body_fingerprint:
            raise conflict(
                "order_id already exists with a different body", existing.status.value
            ) from None
        response.status_code = 200
        return OrderCreated(order_id=body.order_id, status=existing.status)
    return OrderCreated(order_id=body.order_id, status=OrderStatus.RECEIVED)


async def _recorded(state: State, order_id: str) -> tuple[OrderView | None, list[dict[str, Any]]]:
    def read() -> tuple[OrderView | None, list[dict[str, Any]]]:
        with state.db.read() as conn:
            return queries.order_view(conn, order_id), queries.order_events_of(conn, order_id)

    return await run_in_threadpool(read)


async def _live(state: State, order_id: str) -> OrderView | None:
    try:
        view: OrderView = await order_handle(state, order_id).query(OrderWorkflow.view)
        return view
    except RPCError:
        return None


async def _current_view(state: State, order_id: str) -> OrderView | None:
    recorded, _ = await _recorded(state, order_id)
    if recorded is not None and is_terminal(recorded.status):
        return recorded
    return await _live(state, order_id) or recorded


@router.get("/orders/{order_id}", response_model=OrderPublic)
async def get_order(order_id: str, staff: CurrentStaff, state: State) -> OrderPublic:
    """One order: live from its workflow while it runs, from the read model once closed."""
    recorded, events = await _recorded(state, order_id)
    source = "read_model"
    view = recorded
    if recorded is None or not is_terminal(recorded.status):
        live = await _live(state, order_id)
        if live is not None:
            view, source = live, "workflow"
            if live.last_seq > (events[-1]["seq"] if events else 0):
                # The workflow moved on between the two reads: its step's record is
                # written before the step's workflow task completes, so read it again.
                _, events = await _recorded(state, order_id)
    if view is None:
        raise not_found(f"order {order_id}")
    ui = (
        f"{state.settings.temporal_ui_url}/namespaces/{state.settings.temporal_namespace}"
        f"/workflows/{order_workflow_id(order_id)}"
    )
    return OrderPublic.build(view, events, source=source, ui_url=ui)


@router.get("/orders", response_model=OrderList)
async def list_orders(
    staff: CurrentStaff,
    state: State,
    status: OrderStatus | None = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
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

    try:
        page = await run_in_threadpool(read)
    except ValueError as error:
        raise ApiError(422, f"invalid cursor: {error}", field="cursor") from None
    return OrderList(
        items=[OrderSummary.from_row(r) for r in page.items], next_cursor=page.next_cursor
    )
