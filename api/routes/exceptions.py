"""P5: payment events and refunds, logistics exceptions, quality returns and exchanges."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import CurrentStaff, IdempotencyKey, State
from api.errors import not_found
from api.orders_client import recorded_status, run_update, send_signal
from api.routes import CONFLICT
from api.schemas import Accepted
from domain.actions import Action
from domain.commands import (
    ActionResult,
    CauseCommand,
    CauseRequest,
    CompleteRefundCommand,
    CompleteRefundRequest,
    DecideReturnCommand,
    DecisionRequest,
    ExceptionDecisionCommand,
    ExceptionDecisionRequest,
    InspectionCommand,
    InspectionRequest,
    PaymentEventCommand,
    PaymentEventRequest,
    ReturnCommand,
    ReturnRequest,
    SupplierClaimCommand,
    SupplierClaimRequest,
)
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/api/v1/orders", tags=["exceptions and returns"], responses=CONFLICT)


@router.post("/{order_id}/payment-events", status_code=202, response_model=Accepted)
async def payment_event(
    order_id: str, body: PaymentEventRequest, staff: CurrentStaff, state: State
) -> JSONResponse:
    """A payment failure, duplicate or late success (P5.1); a repeated event_id is ignored."""
    if await recorded_status(state, order_id) is None:
        raise not_found(f"order {order_id}")
    await send_signal(
        state,
        order_id,
        OrderWorkflow.payment_event,
        PaymentEventCommand(**body.model_dump(), actor=staff.actor),
    )
    return JSONResponse(
        {"order_id": order_id, "event_id": body.event_id, "accepted": True}, status_code=202
    )


@router.post("/{order_id}/refunds/{refund_id}/complete", response_model=ActionResult)
async def complete_refund(
    order_id: str,
    refund_id: str,
    body: CompleteRefundRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Finance records a refund it paid out by hand after the gateway refused it."""
    command = CompleteRefundCommand(**body.model_dump(), refund_id=refund_id, actor=staff.actor)
    return await run_update(
        state, order_id, Action.COMPLETE_REFUND, OrderWorkflow.complete_refund, command, key
    )


@router.post("/{order_id}/exceptions/{case_id}/decision", response_model=ActionResult)
async def decide_exception(
    order_id: str,
    case_id: str,
    body: ExceptionDecisionRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Customer service's decision on a lost, damaged or delayed parcel (P5.2)."""
    command = ExceptionDecisionCommand(**body.model_dump(), case_id=case_id, actor=staff.actor)
    return await run_update(
        state,
        order_id,
        Action.DECIDE_LOGISTICS_EXCEPTION,
        OrderWorkflow.decide_exception,
        command,
        key,
    )


@router.post("/{order_id}/exceptions/{case_id}/cause", response_model=ActionResult)
async def record_cause(
    order_id: str,
    case_id: str,
    body: CauseRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Logistics records the cause of an exception and its corrective action (P5.2)."""
    command = CauseCommand(**body.model_dump(), case_id=case_id, actor=staff.actor)
    return await run_update(
        state, order_id, Action.RECORD_LOGISTICS_CAUSE, OrderWorkflow.record_cause, command, key
    )


@router.post("/{order_id}/returns", response_model=ActionResult)
async def request_return(
    order_id: str,
    body: ReturnRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """A return or exchange for a quality problem, inside its window after delivery (P5.3)."""
    command = ReturnCommand(**body.model_dump(), actor=staff.actor)
    return await run_update(
        state, order_id, Action.REQUEST_RETURN, OrderWorkflow.request_return, command, key
    )


@router.post("/{order_id}/returns/{case_id}/decision", response_model=ActionResult)
async def decide_return(
    order_id: str,
    case_id: str,
    body: DecisionRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Customer service approves (goods go to inspection) or rejects a return (P5.3)."""
    command = DecideReturnCommand(**body.model_dump(), case_id=case_id, actor=staff.actor)
    return await run_update(
        state, order_id, Action.DECIDE_RETURN, OrderWorkflow.decide_return, command, key
    )


@router.post("/{order_id}/supplier-claims/{case_id}", response_model=ActionResult)
async def supplier_claim(
    order_id: str,
    case_id: str,
    body: SupplierClaimRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Sales records the supplier's answer to a claim for goods with a quality problem
    (P5.3): `agreed` with an amount, `credited` with the credit note (booked on the
    ledger as an adjustment), or `declined`."""
    command = SupplierClaimCommand(**body.model_dump(), case_id=case_id, actor=staff.actor)
    return await run_update(
        state, order_id, Action.SUPPLIER_CLAIM, OrderWorkflow.supplier_claim, command, key
    )


@router.post("/{order_id}/returns/{case_id}/inspection", response_model=ActionResult)
async def inspect_return(
    order_id: str,
    case_id: str,
    body: InspectionRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """The warehouse's inspection of returned goods (P5.3)."""
    command = InspectionCommand(**body.model_dump(), case_id=case_id, actor=staff.actor)
    return await run_update(
        state, order_id, Action.INSPECT_RETURN, OrderWorkflow.inspect_return, command, key
    )
