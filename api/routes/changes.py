"""P4: changes before shipment (request, then customer service's decision) and cancellation."""

from __future__ import annotations

from fastapi import APIRouter

from api.catalogue_facts import products_for, with_earlier_release_fallback
from api.deps import CurrentStaff, IdempotencyKey, State
from api.orders_client import run_update
from api.routes import CONFLICT
from domain.actions import Action
from domain.commands import (
    ActionResult,
    CancelCommand,
    CancelRequest,
    ChangeCommand,
    ChangeRequest,
    DecideChangeCommand,
    DecisionRequest,
)
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/api/v1/orders", tags=["changes and cancellation"], responses=CONFLICT)


@router.post("/{order_id}/changes", response_model=ActionResult)
async def request_change(
    order_id: str,
    body: ChangeRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Record a customer's change of address, contact or goods before shipment (P4.1);
    new goods are checked against the catalogue (P3.1)."""
    products = None
    if body.items is not None:
        products = await products_for(state, [line.sku for line in body.items])

    async def send(with_products: bool) -> ActionResult:
        command = ChangeCommand(
            **body.model_dump(), actor=staff.actor, products=products if with_products else None
        )
        return await run_update(
            state, order_id, Action.REQUEST_CHANGE, OrderWorkflow.request_change, command, key
        )

    return await with_earlier_release_fallback(send)


@router.post("/{order_id}/changes/{case_id}/decision", response_model=ActionResult)
async def decide_change(
    order_id: str,
    case_id: str,
    body: DecisionRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Approve or reject a change (P4.1); new goods re-confirm stock and settle the money."""
    command = DecideChangeCommand(**body.model_dump(), case_id=case_id, actor=staff.actor)
    return await run_update(
        state, order_id, Action.DECIDE_CHANGE, OrderWorkflow.decide_change, command, key
    )


@router.post("/{order_id}/cancel", response_model=ActionResult)
async def cancel(
    order_id: str,
    body: CancelRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Cancel before shipment (P4.2): stock is released and a paid order is refunded."""
    command = CancelCommand(**body.model_dump(), actor=staff.actor)
    return await run_update(state, order_id, Action.CANCEL, OrderWorkflow.cancel, command, key)
