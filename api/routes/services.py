"""P1.2 service orders: the visit agreed, the work recorded on site, the customer's
confirmation, and a complaint decided (a rework visit or a refund, P5.3)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentStaff, IdempotencyKey, State
from api.orders_client import run_update
from api.routes import CONFLICT
from domain.actions import Action
from domain.commands import (
    ActionResult,
    AppointmentCommand,
    AppointmentRequest,
    ServiceComplaintCommand,
    ServiceComplaintRequest,
    ServiceConfirmationCommand,
    ServiceConfirmationRequest,
    ServiceWorkCommand,
    ServiceWorkRequest,
)
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/api/v1/orders", tags=["service orders"], responses=CONFLICT)


@router.post("/{order_id}/appointment", response_model=ActionResult)
async def schedule_service(
    order_id: str,
    body: AppointmentRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Record the visit agreed with the customer: window, address, technician (P1.2)."""
    command = AppointmentCommand(**body.model_dump(), actor=staff.actor)
    return await run_update(
        state, order_id, Action.SCHEDULE_SERVICE, OrderWorkflow.schedule_service, command, key
    )


@router.post("/{order_id}/service-work", response_model=ActionResult)
async def record_service_work(
    order_id: str,
    body: ServiceWorkRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Record the work done on site: technician, what was done, when (P1.2)."""
    command = ServiceWorkCommand(**body.model_dump(), actor=staff.actor)
    return await run_update(
        state, order_id, Action.RECORD_SERVICE_WORK, OrderWorkflow.record_service_work, command, key
    )


@router.post("/{order_id}/service-confirmation", response_model=ActionResult)
async def confirm_service(
    order_id: str,
    body: ServiceConfirmationRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Record the customer's confirmation of the work (P1.2)."""
    command = ServiceConfirmationCommand(**body.model_dump(), actor=staff.actor)
    return await run_update(
        state, order_id, Action.CONFIRM_SERVICE, OrderWorkflow.confirm_service, command, key
    )


@router.post("/{order_id}/service-complaint", response_model=ActionResult)
async def service_complaint(
    order_id: str,
    body: ServiceComplaintRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Decide a complaint about a service: a rework visit or a refund (P1.2, P5.3)."""
    command = ServiceComplaintCommand(**body.model_dump(), actor=staff.actor)
    return await run_update(
        state, order_id, Action.SERVICE_COMPLAINT, OrderWorkflow.service_complaint, command, key
    )
