"""Department actions on an order (api.md table): workflow Updates, and signals for feeds."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.catalogue_facts import products_for, recorded_products, with_earlier_release_fallback
from api.deps import CurrentStaff, IdempotencyKey, State
from api.errors import conflict, not_found
from api.orders_client import recorded_kind, recorded_status, run_update, send_signal
from api.routes import CONFLICT
from api.schemas import Accepted
from domain.actions import ACTION_RULES, Action
from domain.commands import (
    ActionResult,
    BackorderCommand,
    BackorderRequest,
    CorrectionCommand,
    CorrectionRequest,
    DispatchCommand,
    DispatchRequest,
    PackCommand,
    PackRequest,
    ReviewCommand,
    ReviewRequest,
    TrackingCommand,
    TrackingRequest,
)
from domain.order.details import OrderKind
from domain.states import OrderStatus
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/api/v1/orders", tags=["actions"], responses=CONFLICT)


@router.post("/{order_id}/corrections", response_model=ActionResult)
async def correct(
    order_id: str,
    body: CorrectionRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Correct the faulty data of an order that needs correction (P2.2); the order is
    checked again against the catalogue as it is now (P3.1)."""
    if body.items is not None:
        products = await products_for(state, [line.sku for line in body.items])
    else:
        products = await recorded_products(state, order_id)

    async def send(with_products: bool) -> ActionResult:
        command = CorrectionCommand(
            **body.model_dump(), actor=staff.actor, products=products if with_products else None
        )
        return await run_update(
            state, order_id, Action.CORRECT, OrderWorkflow.correct, command, key
        )

    return await with_earlier_release_fallback(send)


@router.post("/{order_id}/review", response_model=ActionResult)
async def review(
    order_id: str,
    body: ReviewRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Approve or reject an order under review (P3.1)."""
    command = ReviewCommand(**body.model_dump(), actor=staff.actor)
    return await run_update(state, order_id, Action.REVIEW, OrderWorkflow.review, command, key)


@router.post("/{order_id}/backorder", response_model=ActionResult)
async def record_backorder(
    order_id: str,
    body: BackorderRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Record why an order is out of stock and when stock is expected (P3.2)."""
    command = BackorderCommand(**body.model_dump(), actor=staff.actor)
    return await run_update(
        state, order_id, Action.RECORD_BACKORDER, OrderWorkflow.record_backorder, command, key
    )


@router.post("/{order_id}/pack", response_model=ActionResult)
async def pack(
    order_id: str, body: PackRequest, staff: CurrentStaff, state: State, key: IdempotencyKey = None
) -> ActionResult:
    """Record the order picked and packed with its accessories (P3.3)."""
    command = PackCommand(**body.model_dump(), actor=staff.actor)
    return await run_update(state, order_id, Action.PACK, OrderWorkflow.pack, command, key)


@router.post("/{order_id}/dispatch", response_model=ActionResult)
async def dispatch(
    order_id: str,
    body: DispatchRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Hand the order to a carrier (P3.4). A carrier the system books (`OMS_CARRIERS`, the
    simulated `sim` by default) may be named without a tracking number: the shipment is
    booked with it and its number answered (`tracking_number`); a booking it declines is
    409 `carrier_booking_failed`, and the order stays packed."""
    # Only a booking says so: an order of an earlier release then reads the command as before.
    book = (
        True if body.tracking_number is None and body.carrier in state.settings.carriers else None
    )
    command = DispatchCommand(**body.model_dump(), actor=staff.actor, book=book)
    return await run_update(state, order_id, Action.DISPATCH, OrderWorkflow.dispatch, command, key)


def check_trackable(status: str) -> None:
    """A tracking event is for an order on its way (P3.4): 409 `not_dispatched` before."""
    if OrderStatus(status) not in ACTION_RULES[Action.TRACKING].statuses:
        raise conflict(
            f"the order has not been dispatched ({status})",
            status,
            "not_dispatched",
            {"status": status},
        )


@router.post("/{order_id}/tracking", status_code=202, response_model=Accepted)
async def tracking(
    order_id: str, body: TrackingRequest, staff: CurrentStaff, state: State
) -> JSONResponse:
    """A carrier's tracking event (P3.4); a repeated event_id is ignored."""
    status = await recorded_status(state, order_id)
    if status is None:
        raise not_found(f"order {order_id}")
    # A service order of r3 is never in transit; one of an earlier release, dispatched as
    # a parcel before service orders had visits, still needs its delivery reported.
    in_flight = status == OrderStatus.IN_TRANSIT.value
    if not in_flight and await recorded_kind(state, order_id) is OrderKind.SERVICE:
        raise conflict(
            "a service order has no shipment to track (P1.2)",
            status,
            "not_for_service_orders",
            {"action": Action.TRACKING.value, "clause": "P1.2"},
        )
    check_trackable(status)
    await send_signal(
        state,
        order_id,
        OrderWorkflow.tracking,
        TrackingCommand(**body.model_dump(), actor=staff.actor),
    )
    return JSONResponse(
        {"order_id": order_id, "event_id": body.event_id, "accepted": True}, status_code=202
    )
