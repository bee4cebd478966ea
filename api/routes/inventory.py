"""Inventory (P3.2): stock levels, stock counts and restock receipts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from temporalio.common import WorkflowIDConflictPolicy

from api.deps import CurrentStaff, State
from api.errors import ApiError, not_found
from api.routes import CONFLICT
from api.schemas import InventoryPublic, RestockPublic
from db import inventory as stock
from domain.commands import InventoryLevelRequest, ReceiptRequest
from domain.contracts import RestockInput, RestockResult
from domain.ids import restock_workflow_id
from domain.inventory import InventoryLevel, ReceiveStock
from domain.order.details import SKU_PATTERN
from workflows.restock import RestockWorkflow

router = APIRouter(prefix="/api/v1/inventory", tags=["inventory"])

Sku = Annotated[str, Path(pattern=SKU_PATTERN)]
#: Stricter than the actions' key (api/deps.py): it becomes the receipt's id in the ledger of stock.
ReceiptKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]


def _public(level: InventoryLevel) -> InventoryPublic:
    return InventoryPublic(
        sku=level.sku,
        name=level.name,
        on_hand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
    )


async def _resume_waiting(
    state: State, sku: str, trigger_id: str, receipt: ReceiveStock | None
) -> RestockResult:
    """Book the receipt (if any) and resume the orders waiting for the sku, durably."""
    result: RestockResult = await state.client.execute_workflow(
        RestockWorkflow.run,
        RestockInput(sku=sku, receipt=receipt, trigger_id=trigger_id),
        id=restock_workflow_id(sku, trigger_id),
        task_queue=state.settings.task_queue,
        # The same receipt sent again joins the first run and gets its result.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=f"Restock {sku}",
    )
    return result


@router.get("/{sku}", response_model=InventoryPublic)
async def get_inventory(sku: Sku, staff: CurrentStaff, state: State) -> InventoryPublic:
    """Stock of one sku: on hand, reserved by orders, available."""

    def read() -> InventoryLevel | None:
        with state.db.read() as conn:
            return stock.level(conn, sku)

    level = await run_in_threadpool(read)
    if level is None:
        raise not_found(f"sku {sku}")
    return _public(level)


@router.put("/{sku}", response_model=InventoryPublic, responses=CONFLICT)
async def set_inventory(
    sku: Sku, body: InventoryLevelRequest, staff: CurrentStaff, state: State
) -> InventoryPublic:
    """Set what is on hand after a stock count; orders waiting for the sku try again."""

    def write() -> InventoryLevel:
        with state.db.write() as conn:
            return stock.set_on_hand(conn, sku, body.on_hand, datetime.now(UTC), body.name)

    try:
        level = await run_in_threadpool(write)
    except IntegrityError:
        raise ApiError(
            409, f"on_hand {body.on_hand} is below what orders have reserved", status=None
        ) from None
    if level.available > 0:
        await _resume_waiting(state, sku, f"count-{uuid.uuid4().hex[:12]}", None)
    return _public(level)


@router.post("/{sku}/receipts", response_model=RestockPublic)
async def receive(
    sku: Sku, body: ReceiptRequest, staff: CurrentStaff, state: State, key: ReceiptKey = None
) -> RestockPublic:
    """Book a restock receipt; out-of-stock orders of the sku resume (P3.2)."""
    receipt_id = key or uuid.uuid4().hex
    receipt = ReceiveStock(
        receipt_id=receipt_id,
        sku=sku,
        quantity=body.quantity,
        note=body.note,
        actor_id=staff.staff_id,
    )
    result = await _resume_waiting(state, sku, receipt_id, receipt)
    return RestockPublic(
        **_public(result.level).model_dump(),
        receipt_id=receipt_id,
        resumed_orders=result.resumed_orders,
    )
