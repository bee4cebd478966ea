"""Customers as the review sees them (P3.1 customer qualification): their standing, and the
blocked customer list sales keeps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from api.deps import CurrentStaff, State
from api.errors import not_found
from db import customers
from domain.order.details import Strict
from domain.review_checklist import CustomerStanding

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])

CustomerId = Annotated[str, Path(min_length=1, max_length=64)]


class BlockRequest(Strict):
    reason: str = Field(min_length=1, max_length=500)


@router.get("/{customer_id}/standing", response_model=CustomerStanding)
async def get_standing(
    customer_id: CustomerId, staff: CurrentStaff, state: State
) -> CustomerStanding:
    """What the review of this customer's next order will be told (P3.1)."""

    def read() -> CustomerStanding:
        with state.db.read() as conn:
            return customers.standing(conn, customer_id)

    return await run_in_threadpool(read)


@router.put("/{customer_id}/block", response_model=CustomerStanding)
async def block(
    customer_id: CustomerId, body: BlockRequest, staff: CurrentStaff, state: State
) -> CustomerStanding:
    """Put the customer on the blocked list: their orders cannot be approved (P3.1)."""

    def write() -> CustomerStanding:
        with state.db.write() as conn:
            customers.block(conn, customer_id, body.reason, staff.staff_id, datetime.now(UTC))
            return customers.standing(conn, customer_id)

    return await run_in_threadpool(write)


@router.delete("/{customer_id}/block", status_code=204)
async def unblock(customer_id: CustomerId, staff: CurrentStaff, state: State) -> Response:
    """Take the customer off the blocked list (their next orders; 404 if not on it)."""

    def write() -> bool:
        with state.db.write() as conn:
            return customers.unblock(conn, customer_id)

    if not await run_in_threadpool(write):
        raise not_found(f"blocked customer {customer_id}")
    return Response(status_code=204)
