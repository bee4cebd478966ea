"""The paths through the workflows that `tests/histories/` records, one scenario each.

`python -m audit.record_histories` runs every scenario against a dev server and
a worker, then exports the histories the scenario names. To cover a new path,
write an `async def` that drives it through a `Recording` and add it to
`SCENARIOS`; its histories land in `tests/histories/<scenario>.<label>.json`
and the replay test picks them up.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle

from activities.backup import BackupRequest
from activities.contracts import ReceiveStock
from db import inventory as stock
from db.engine import Database
from domain.actors import Actor, Department
from domain.commands import (
    ActionResult,
    BackorderCommand,
    ClaimTaskCommand,
    CompleteTaskCommand,
    CorrectionCommand,
    DeliveryMethod,
    DispatchCommand,
    PackCommand,
    ReviewCommand,
    TrackingCommand,
    TrackingEventKind,
)
from domain.ids import fingerprint, order_workflow_id, restock_workflow_id
from domain.order import NewOrder, Shipping
from domain.policy import PolicySettings
from domain.tasks import TaskKind
from domain.view import OrderView
from workflows.backup import BackupWorkflow
from workflows.contracts import OrderWorkflowInput, RestockInput
from workflows.order import OrderWorkflow
from workflows.restock import RestockWorkflow

D = Department

PLATFORM = Actor(staff_id="platform-gateway", department=D.PLATFORM)
SALES = Actor(staff_id="sales-wang", department=D.SALES)
SALES_2 = Actor(staff_id="sales-li", department=D.SALES)
WAREHOUSE = Actor(staff_id="warehouse-zhao", department=D.WAREHOUSE)
LOGISTICS = Actor(staff_id="logistics-chen", department=D.LOGISTICS)
SERVICE = Actor(staff_id="service-liu", department=D.CUSTOMER_SERVICE)

#: Short windows so that delivered orders complete within the recording.
RECORDING_POLICY = PolicySettings(
    return_window=timedelta(seconds=1), exchange_window=timedelta(seconds=1)
)


@dataclass
class Recording:
    """What a scenario drives: the client, the worker's task queue, and its read model."""

    client: Client
    task_queue: str
    db: Database
    #: Appended to every business id, so that a scenario can run twice on one server.
    suffix: str
    #: (label, workflow id) of every workflow the scenario wants exported.
    workflows: list[tuple[str, str]] = field(default_factory=list)

    def order_id(self, name: str) -> str:
        return f"H-{name}-{self.suffix}".upper()

    def set_stock(self, sku: str, on_hand: int) -> None:
        with self.db.write() as conn:
            stock.set_on_hand(conn, sku, on_hand, datetime.now(UTC), sku.lower())

    async def start_order(
        self, order: NewOrder, policy: PolicySettings = RECORDING_POLICY, label: str = "order"
    ) -> WorkflowHandle[OrderWorkflow, Any]:
        body = order.model_dump(mode="json")
        handle = await self.client.start_workflow(
            OrderWorkflow.run,
            OrderWorkflowInput(
                order=order, policy=policy, submitted_by=PLATFORM, fingerprint=fingerprint(body)
            ),
            id=order_workflow_id(order.order_id),
            task_queue=self.task_queue,
            static_summary=f"Order {order.order_id} (recorded scenario)",
        )
        self.workflows.append((label, handle.id))
        return handle

    async def restock(self, sku: str, quantity: int | None, label: str = "restock") -> None:
        """Run a RestockWorkflow: a receipt of goods, or (None) a stock count already booked."""
        trigger = f"R-{self.suffix}-{len(self.workflows)}"
        receipt = (
            ReceiveStock(
                receipt_id=trigger, sku=sku, quantity=quantity, actor_id=WAREHOUSE.staff_id
            )
            if quantity is not None
            else None
        )
        workflow_id = restock_workflow_id(sku, trigger)
        await self.client.execute_workflow(
            RestockWorkflow.run,
            RestockInput(sku=sku, receipt=receipt, trigger_id=trigger),
            id=workflow_id,
            task_queue=self.task_queue,
            static_summary=f"Restock {sku}",
        )
        self.workflows.append((label, workflow_id))


def goods_order(
    order_id: str,
    *,
    sku: str = "SKU-KETTLE",
    quantity: int = 2,
    price: str = "129.00",
    new_customer: bool = False,
    kind: str = "goods",
    address: str | None = "1 Chaoyang Rd, Beijing",
) -> NewOrder:
    total = Decimal(price) * quantity
    return NewOrder.model_validate(
        {
            "order_id": order_id,
            "kind": kind,
            "customer": {
                "id": "C1001",
                "name": "Li Lei",
                "phone": "13800138000",
                "new_customer": new_customer,
            },
            "items": [{"sku": sku, "name": sku.lower(), "quantity": quantity, "unit_price": price}],
            "shipping": {
                "address": address,
                "contact_name": "Li Lei",
                "contact_phone": "13800138000",
            },
            "payment": {
                "method": "online",
                "status": "paid",
                "amount": f"{total:.2f}",
                "transaction_id": f"TX-{order_id}",
            },
        }
    )


async def view(handle: WorkflowHandle[OrderWorkflow, Any]) -> OrderView:
    result: OrderView = await handle.query(OrderWorkflow.view)
    return result


async def until(
    handle: WorkflowHandle[OrderWorkflow, Any],
    check: Callable[[OrderView], bool],
    what: str,
    timeout: float = 30,
) -> OrderView:
    """Poll the order's live view until `check` holds (signals and timers land asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        current = await view(handle)
        if check(current):
            return current
        if time.monotonic() > deadline:
            raise TimeoutError(f"{handle.id} never reached {what}; it is {current.status}")
        await asyncio.sleep(0.1)


def open_task(current: OrderView, kind: TaskKind) -> str:
    return next(t.task_id for t in current.open_tasks if t.kind is kind)


async def ship_and_deliver(handle: WorkflowHandle[OrderWorkflow, Any], *, goods: bool) -> None:
    """P3.3-P3.4 and the after-sales window: pack (goods), dispatch, track, deliver, complete."""
    if goods:
        await handle.execute_update(
            OrderWorkflow.pack,
            PackCommand(packages=1, accessories=["manual", "warranty_card"], actor=WAREHOUSE),
        )
    await handle.execute_update(
        OrderWorkflow.dispatch,
        DispatchCommand(
            carrier="SF Express",
            method=DeliveryMethod.EXPRESS,
            tracking_number=f"SF-{handle.id}",
            actor=LOGISTICS,
        ),
    )
    for event_id, event in (
        ("E1", TrackingEventKind.IN_TRANSIT),
        ("E1", TrackingEventKind.IN_TRANSIT),  # a repeated feed event is ignored
        ("E2", TrackingEventKind.OUT_FOR_DELIVERY),
        ("E3", TrackingEventKind.DELIVERED),
    ):
        await handle.signal(
            OrderWorkflow.tracking,
            TrackingCommand(event_id=event_id, event=event, location="Beijing", actor=PLATFORM),
        )
    await handle.result()


async def review(
    handle: WorkflowHandle[OrderWorkflow, Any],
    approved: bool,
    actor: Actor = SALES,
    phone_verified: bool | None = None,
) -> ActionResult:
    await until(handle, lambda v: v.status.value == "under_review", "review")
    result: ActionResult = await handle.execute_update(
        OrderWorkflow.review,
        ReviewCommand(
            approved=approved, note="checked", phone_verified=phone_verified, actor=actor
        ),
    )
    return result


# --- the scenarios ---------------------------------------------------------------------------


async def happy_path(r: Recording) -> None:
    """A paid goods order from intake to completion (P2.2, P3.1-P3.4, P5.3 window)."""
    r.set_stock("SKU-KETTLE", 100)
    handle = await r.start_order(goods_order(r.order_id("happy")))
    await review(handle, approved=True)
    await ship_and_deliver(handle, goods=True)


async def needs_correction(r: Recording) -> None:
    """P2.2: an order without an address waits for customer service's correction, then review."""
    handle = await r.start_order(goods_order(r.order_id("correction"), address=None))
    await until(handle, lambda v: v.status.value == "needs_correction", "needs_correction")
    await handle.execute_update(
        OrderWorkflow.correct,
        CorrectionCommand(
            shipping=Shipping(
                address="2 Haidian Rd, Beijing", contact_name="Li Lei", contact_phone="13800138000"
            ),
            note="address confirmed by phone",
            actor=SERVICE,
        ),
    )
    await review(handle, approved=False)
    await handle.result()


async def rejection(r: Recording) -> None:
    """P3.1: sales rejects a paid order."""
    handle = await r.start_order(goods_order(r.order_id("rejected")))
    await review(handle, approved=False)
    await handle.result()


async def risky_service_order(r: Recording) -> None:
    """P3.1 phone verification of a new customer; a service order has nothing to pick."""
    handle = await r.start_order(
        goods_order(r.order_id("service"), sku="SVC-INSTALL", kind="service", new_customer=True)
    )
    await review(handle, approved=True, phone_verified=True)
    await ship_and_deliver(handle, goods=False)


async def out_of_stock_restock(r: Recording) -> None:
    """P3.2: short stock, the warehouse's backorder record, sales informs, a receipt resumes it."""
    sku = f"SKU-RICE-{r.suffix}".upper()
    r.set_stock(sku, 0)
    handle = await r.start_order(goods_order(r.order_id("backorder"), sku=sku, quantity=3))
    answer = await review(handle, approved=True)
    assert answer.status.value == "out_of_stock", answer
    informed: ActionResult = await handle.execute_update(
        OrderWorkflow.record_backorder,
        BackorderCommand(
            reason="supplier delay",
            restock_eta=datetime.now(UTC) + timedelta(days=2),
            actor=WAREHOUSE,
        ),
    )
    assert informed.task_id is not None
    await handle.execute_update(
        OrderWorkflow.complete_task,
        CompleteTaskCommand(task_id=informed.task_id, note="customer called", actor=SALES),
    )
    await r.restock(sku, 5)
    await until(handle, lambda v: v.status.value == "ready_to_pack", "ready_to_pack")
    await ship_and_deliver(handle, goods=True)


async def stock_count_restock(r: Recording) -> None:
    """A stock count (no receipt) runs RestockWorkflow with no order waiting."""
    sku = f"SKU-EARBUDS-{r.suffix}".upper()
    r.set_stock(sku, 10)
    await r.restock(sku, None)


async def overdue_escalation(r: Recording) -> None:
    """P8.1/P8.2: a review left past its deadline is reminded, goes overdue and is escalated."""
    policy = RECORDING_POLICY.model_copy(update={"review_deadline": timedelta(seconds=2)})
    handle = await r.start_order(goods_order(r.order_id("overdue")), policy=policy)
    await until(handle, lambda v: v.overdue, "an overdue review")
    await review(handle, approved=False)
    await handle.result()


async def claim_and_unclaim(r: Recording) -> None:
    """Tasks are claimed, released and claimed again; a colleague acts on a claimed task."""
    handle = await r.start_order(
        goods_order(r.order_id("claims"), sku="SVC-REPAIR", kind="service")
    )
    current = await until(handle, lambda v: v.status.value == "under_review", "review")
    task_id = open_task(current, TaskKind.REVIEW)
    for actor, assignee in ((SALES, SALES.staff_id), (SALES, None), (SALES_2, SALES_2.staff_id)):
        await handle.execute_update(
            OrderWorkflow.claim_task,
            ClaimTaskCommand(task_id=task_id, assignee=assignee, actor=actor),
        )
    await review(handle, approved=True, actor=SALES)
    await ship_and_deliver(handle, goods=False)


async def nightly_backup(r: Recording) -> None:
    """P6.2: one run of the BackupWorkflow that the nightly Schedule starts."""
    target = Path(tempfile.mkdtemp(prefix="oms-backup-scenario-"))
    workflow_id = f"oms-backup-{r.suffix}"
    try:
        await r.client.execute_workflow(
            BackupWorkflow.run,
            BackupRequest(target_dir=str(target), keep=1),
            id=workflow_id,
            task_queue=r.task_queue,
            static_summary="Backup of the read model (recorded scenario)",
        )
    finally:
        shutil.rmtree(target, ignore_errors=True)
    r.workflows.append(("backup", workflow_id))


Scenario = Callable[[Recording], Awaitable[None]]

#: Every path recorded in tests/histories/, by file-name prefix. Add new paths here.
SCENARIOS: dict[str, Scenario] = {
    "happy-path": happy_path,
    "needs-correction": needs_correction,
    "rejection": rejection,
    "risky-service-order": risky_service_order,
    "out-of-stock-restock": out_of_stock_restock,
    "stock-count-restock": stock_count_restock,
    "overdue-escalation": overdue_escalation,
    "claim-and-unclaim": claim_and_unclaim,
    "nightly-backup": nightly_backup,
}
