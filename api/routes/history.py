"""An order's audit timeline (P6.1, P8.1), built from its workflow history, not the read model."""

from __future__ import annotations

from fastapi import APIRouter
from temporalio.service import RPCError

from api.deps import CurrentStaff, State
from api.errors import ApiError, is_not_found, not_found
from domain.ids import order_workflow_id
from domain.timeline import OrderTimeline, build_timeline
from workers.history import HistoryError, decode_history, order_history_from_server

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/orders/{order_id}/history", response_model=OrderTimeline)
async def order_history(order_id: str, staff: CurrentStaff, state: State) -> OrderTimeline:
    """Every step of the order with time, actor, department and outcome, from its history."""
    try:
        history = await order_history_from_server(state.client, order_workflow_id(order_id))
    except RPCError as error:
        if is_not_found(error):
            raise not_found(f"order {order_id}") from None
        raise ApiError(503, "the order service is unavailable, try again") from None
    try:
        decoded = await decode_history(history, state.client.data_converter)
    except HistoryError:
        raise not_found(f"order {order_id}") from None
    if not decoded.is_order:
        raise not_found(f"order {order_id}")
    return build_timeline(decoded)
