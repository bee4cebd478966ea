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

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from activities.payment_gateway import SimulatedPaymentGateway
from db import inventory as stock
from db.engine import Database
from domain.actors import Actor, Department
from domain.backups import BackupRequest
from domain.cases import CaseKind
from domain.catalogue import Product
from domain.commands import (
    ActionResult,
    AppointmentCommand,
    BackorderCommand,
    CancelCommand,
    CauseCommand,
    ChangeCommand,
    ClaimStep,
    ClaimTaskCommand,
    CompleteRefundCommand,
    CompleteTaskCommand,
    CorrectionCommand,
    DecideChangeCommand,
    DecideReturnCommand,
    DeliveryMethod,
    DispatchCommand,
    ExceptionDecisionCommand,
    InspectionCommand,
    PackCommand,
    PaymentEventCommand,
    PaymentEventKind,
    ReceiveCommand,
    Resolution,
    ReturnCommand,
    ReturnKind,
    ReviewCommand,
    ServiceConfirmationCommand,
    ServiceWorkCommand,
    SupplierClaimCommand,
    TrackingCommand,
    TrackingEventKind,
)
from domain.contracts import FeedbackWorkflowInput, OrderWorkflowInput, RestockInput
from domain.feedback import (
    Channel,
    FeedbackKind,
    FeedbackOutcome,
    FeedbackReplyCommand,
    FeedbackRequest,
    FeedbackResolveCommand,
    feedback_workflow_id,
)
from domain.ids import fingerprint, order_workflow_id, restock_workflow_id
from domain.inventory import ReceiveStock
from domain.order.details import (
    NewOrder,
    OrderItem,
    OrderKind,
    PaymentMethod,
    PaymentStatus,
    Shipping,
)
from domain.policy import PolicySettings
from domain.rectification import (
    RectificationAnswerCommand,
    RectificationItemInput,
    RectificationVerifyCommand,
    rectification_item_id,
    rectification_workflow_id,
)
from domain.review_checklist import CallOutcome, PhoneCall, PointAnswer, ReviewPoint
from domain.scorecards import ScorecardInput
from domain.supervision import SupervisionInput
from domain.tasks import TaskKind
from domain.view import OrderView
from workflows.backup import BackupWorkflow
from workflows.feedback import FeedbackWorkflow
from workflows.order import OrderWorkflow
from workflows.rectification import RectificationWorkflow
from workflows.reporting import ReportingInput, ReportingWorkflow
from workflows.restock import RestockWorkflow
from workflows.scorecards import ScorecardWorkflow
from workflows.supervision import SupervisionWorkflow

D = Department

PLATFORM = Actor(staff_id="platform-gateway", department=D.PLATFORM)
SALES = Actor(staff_id="sales-wang", department=D.SALES)
SALES_2 = Actor(staff_id="sales-li", department=D.SALES)
WAREHOUSE = Actor(staff_id="warehouse-zhao", department=D.WAREHOUSE)
LOGISTICS = Actor(staff_id="logistics-chen", department=D.LOGISTICS)
SERVICE = Actor(staff_id="service-liu", department=D.CUSTOMER_SERVICE)
FINANCE = Actor(staff_id="finance-sun", department=D.FINANCE)

#: Short windows so that delivered orders complete within the recording (and a service no
#: one confirms is confirmed by itself, P1.2).
RECORDING_POLICY = PolicySettings(
    return_window=timedelta(seconds=1),
    exchange_window=timedelta(seconds=1),
    service_confirmation_window=timedelta(seconds=1),
)


def listed(order: NewOrder) -> list[Product]:
    """What the recording's catalogue says of the order's products (the API reads them from
    the products table): listed at the order's prices, with the usual accessories."""
    goods = order.kind is OrderKind.GOODS
    return [
        Product(
            sku=line.sku,
            name=line.sku.lower(),
            kind=order.kind,
            list_price=line.unit_price,
            floor_price=line.unit_price,
            accessories=["manual", "warranty_card"] if goods else [],
        )
        for line in order.items
    ]


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
        self,
        order: NewOrder,
        policy: PolicySettings = RECORDING_POLICY,
        label: str = "order",
        products: list[Product] | None = None,
    ) -> WorkflowHandle[OrderWorkflow, Any]:
        """Hand the order over as the API does; `products` what the catalogue lists of it
        (by default every product, at the order's prices)."""
        body = order.model_dump(mode="json")
        # The customer paid at the (simulated) provider: a refund is paid back within it.
        if not SimulatedPaymentGateway(self.db).record_paid_order(order):
            raise ValueError(f"{order.order_id}: its transaction is another order's capture")
        # As the API does it (POST /orders): the workflow's start with the `receive` update.
        start = WithStartWorkflowOperation(
            OrderWorkflow.run,
            OrderWorkflowInput(
                order=order,
                policy=policy,
                submitted_by=PLATFORM,
                fingerprint=fingerprint(body),
                products=listed(order) if products is None else products,
            ),
            id=order_workflow_id(order.order_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Order {order.order_id} (recorded scenario)",
        )
        await self.client.execute_update_with_start_workflow(
            OrderWorkflow.receive,
            ReceiveCommand(actor=PLATFORM, fingerprint=fingerprint(body)),
            start_workflow_operation=start,
        )
        handle = await start.workflow_handle()
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


async def ship_and_deliver(
    handle: WorkflowHandle[OrderWorkflow, Any], *, goods: bool, remittance: Decimal | None = None
) -> None:
    """P3.3-P3.4 and the after-sales window: pack (goods), dispatch, track, deliver, complete.
    Cash on delivery completes once the carrier remits `remittance` (P2.1)."""
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
    if remittance is not None:
        await until(handle, lambda v: v.status.value == "delivered", "delivered")
        await payment_event(
            handle, PaymentEventKind.REMITTED, "REMIT-1", f"COD-{handle.id}", str(remittance)
        )
    await handle.result()


async def visit_and_confirm(
    handle: WorkflowHandle[OrderWorkflow, Any], *, confirmed_by: Actor | None = SERVICE
) -> None:
    """P1.2 a service order: the visit agreed, the work recorded on site, the customer's
    confirmation (None: no word from the customer, confirmed by itself), the window, done."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    await handle.execute_update(
        OrderWorkflow.schedule_service,
        AppointmentCommand(
            window_start=start,
            window_end=start + timedelta(hours=2),
            technician="Technician Zhou",
            actor=LOGISTICS,
        ),
    )
    await handle.execute_update(
        OrderWorkflow.record_service_work,
        ServiceWorkCommand(technician="Technician Zhou", work="installed", actor=LOGISTICS),
    )
    if confirmed_by is not None:
        await handle.execute_update(
            OrderWorkflow.confirm_service,
            ServiceConfirmationCommand(note="the customer is satisfied", actor=confirmed_by),
        )
    await handle.result()


async def payment_event(
    handle: WorkflowHandle[OrderWorkflow, Any],
    kind: PaymentEventKind,
    event_id: str,
    transaction_id: str,
    amount: str = "258.00",
) -> None:
    """The platform's payment feed (P2.1, P5.1)."""
    await handle.signal(
        OrderWorkflow.payment_event,
        PaymentEventCommand(
            event_id=event_id,
            kind=kind,
            amount=Decimal(amount),
            transaction_id=transaction_id,
            actor=PLATFORM,
        ),
    )


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


async def reject_and_explain(handle: WorkflowHandle[OrderWorkflow, Any]) -> None:
    """P3.1: sales rejects the order, tells the customer why, and the order ends."""
    await review(handle, approved=False)
    current = await until(handle, lambda v: bool(v.open_tasks), "the explain_rejection task")
    await handle.execute_update(
        OrderWorkflow.complete_task,
        CompleteTaskCommand(
            task_id=open_task(current, TaskKind.EXPLAIN_REJECTION),
            note="called the customer, explained the reason",
            actor=SALES,
        ),
    )
    await handle.result()


# --- the scenarios ---------------------------------------------------------------------------


async def happy_path(r: Recording) -> None:
    """A paid goods order from intake to completion (P2.2, P3.1-P3.4, P5.3 window)."""
    r.set_stock("SKU-KETTLE", 100)
    handle = await r.start_order(goods_order(r.order_id("happy")))
    await review(handle, approved=True)
    await ship_and_deliver(handle, goods=True)


async def booked_with_the_carrier(r: Recording) -> None:
    """P3.4 the system books the simulated carrier and uses its number; P3-P5 the customer's
    messages: this customer's number refuses text messages (the stand-in channel declines
    numbers starting 000), so each message becomes customer service's task."""
    r.set_stock("SKU-KETTLE", 100)
    order = goods_order(r.order_id("booked"))
    unreachable = "00012345678"
    order = order.model_copy(
        update={
            "customer": order.customer.model_copy(update={"phone": unreachable}),
            "shipping": order.shipping.model_copy(update={"contact_phone": unreachable}),
        }
    )
    handle = await r.start_order(order)
    await review(handle, approved=True)
    await handle.execute_update(
        OrderWorkflow.pack,
        PackCommand(packages=1, accessories=["manual", "warranty_card"], actor=WAREHOUSE),
    )
    booked = await handle.execute_update(
        OrderWorkflow.dispatch,
        DispatchCommand(carrier="sim", method=DeliveryMethod.STANDARD, book=True, actor=LOGISTICS),
    )
    carrier = Actor(staff_id="carrier:sim", department=D.PLATFORM)
    for event_id, event in (
        ("sim:S1", TrackingEventKind.IN_TRANSIT),
        ("sim:S2", TrackingEventKind.DELIVERED),
    ):
        await handle.signal(
            OrderWorkflow.tracking,
            TrackingCommand(event_id=event_id, event=event, location="Beijing", actor=carrier),
        )
    assert booked.tracking_number is not None
    # Customer service calls the customer for each message the channel refused.
    while True:
        current = await until(
            handle,
            lambda v: (
                v.status.value == "completed"
                or any(t.kind is TaskKind.NOTIFY_CUSTOMER for t in v.open_tasks)
            ),
            "a message to tell by phone",
        )
        if current.status.value == "completed":
            break
        await handle.execute_update(
            OrderWorkflow.complete_task,
            CompleteTaskCommand(
                task_id=open_task(current, TaskKind.NOTIFY_CUSTOMER),
                note="told the customer by phone",
                actor=SERVICE,
            ),
        )
    await handle.result()


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
    await reject_and_explain(handle)


async def unlisted_restricted_product(r: Recording) -> None:
    """P2.2, P3.1: an order naming a product the catalogue did not list goes to sales; sales
    lists it (restricted: an age check) and corrects; the review does the check, answers
    its checklist and records the phone call; the order ships."""
    r.set_stock("SKU-KNIFE", 10)
    order = goods_order(
        r.order_id("unlisted"), sku="SKU-KNIFE", quantity=1, price="199.00", new_customer=True
    )
    handle = await r.start_order(order, products=[])
    await until(handle, lambda v: v.status.value == "needs_correction", "needs_correction")
    knife = Product(
        sku="SKU-KNIFE",
        name="chef's knife",
        list_price=Decimal("199.00"),
        floor_price=Decimal("169.00"),
        accessories=["manual"],
        restricted=True,
        required_check="age_verified",
    )
    await handle.execute_update(
        OrderWorkflow.correct,
        CorrectionCommand(note="listed in the catalogue", products=[knife], actor=SALES),
    )
    await until(handle, lambda v: v.status.value == "under_review", "review")
    await handle.execute_update(
        OrderWorkflow.review,
        ReviewCommand(
            approved=True,
            checks_done=["age_verified"],
            checklist=[PointAnswer(point=point, ok=True) for point in ReviewPoint],
            phone_call=PhoneCall(
                called_at=datetime.now(UTC), outcome=CallOutcome.CONFIRMED, note="ID seen"
            ),
            actor=SALES,
        ),
    )
    await ship_and_deliver(handle, goods=True)


async def rejection(r: Recording) -> None:
    """P3.1: sales rejects a paid order."""
    handle = await r.start_order(goods_order(r.order_id("rejected")))
    await reject_and_explain(handle)


async def risky_service_order(r: Recording) -> None:
    """P3.1 phone verification of a new customer; a service order has nothing to pick: a visit
    is agreed, the work recorded and confirmed by the customer (P1.2)."""
    handle = await r.start_order(
        goods_order(r.order_id("service"), sku="SVC-INSTALL", kind="service", new_customer=True)
    )
    await review(handle, approved=True, phone_verified=True)
    await visit_and_confirm(handle)


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
    await reject_and_explain(handle)


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
    await visit_and_confirm(handle, confirmed_by=None)  # confirmed by itself (P1.2)


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


# --- P4: changes and cancellation ----------------------------------------------------------


async def change_address_and_goods(r: Recording) -> None:
    """P4.1: a new address (logistics re-plans) and fewer goods (stock again, a refund)."""
    r.set_stock("SKU-KETTLE", 100)
    handle = await r.start_order(goods_order(r.order_id("change"), quantity=2))
    await review(handle, approved=True)
    await handle.execute_update(
        OrderWorkflow.pack,
        PackCommand(packages=1, accessories=["manual", "warranty_card"], actor=WAREHOUSE),
    )
    moved: ActionResult = await handle.execute_update(
        OrderWorkflow.request_change,
        ChangeCommand(
            shipping=Shipping(
                address="9 Xidan St, Beijing", contact_name="Li Lei", contact_phone="13800138000"
            ),
            reason="moved",
            actor=SERVICE,
        ),
    )
    assert moved.case_id is not None
    await handle.execute_update(
        OrderWorkflow.decide_change,
        DecideChangeCommand(case_id=moved.case_id, approved=True, actor=SERVICE),
    )
    current = await view(handle)
    await handle.execute_update(
        OrderWorkflow.complete_task,
        CompleteTaskCommand(
            task_id=open_task(current, TaskKind.REPLAN_DELIVERY), note="re-routed", actor=LOGISTICS
        ),
    )
    fewer: ActionResult = await handle.execute_update(
        OrderWorkflow.request_change,
        ChangeCommand(
            items=[
                OrderItem(sku="SKU-KETTLE", name="kettle", quantity=1, unit_price=Decimal("129.00"))
            ],
            reason="one is enough",
            actor=SERVICE,
        ),
    )
    assert fewer.case_id is not None
    again = await handle.execute_update(
        OrderWorkflow.decide_change,
        DecideChangeCommand(case_id=fewer.case_id, approved=True, actor=SERVICE),
    )
    assert again.status.value == "ready_to_pack", again
    await ship_and_deliver(handle, goods=True)


async def cancel_paid_order(r: Recording) -> None:
    """P4.2: a paid order cancelled before shipment: stock released, the payment refunded."""
    r.set_stock("SKU-KETTLE", 100)
    handle = await r.start_order(goods_order(r.order_id("cancel")))
    await review(handle, approved=True)
    await handle.execute_update(
        OrderWorkflow.cancel, CancelCommand(reason="found it cheaper", actor=SERVICE)
    )
    await handle.result()


async def cancel_packed_order(r: Recording) -> None:
    """P4.2: a packed order cancelled: refunded, and the warehouse puts the goods back."""
    r.set_stock("SKU-KETTLE", 100)
    handle = await r.start_order(goods_order(r.order_id("cancelpacked")))
    await review(handle, approved=True)
    await handle.execute_update(
        OrderWorkflow.pack,
        PackCommand(packages=1, accessories=["manual", "warranty_card"], actor=WAREHOUSE),
    )
    await handle.execute_update(
        OrderWorkflow.cancel, CancelCommand(reason="ordered twice", actor=SERVICE)
    )
    current = await until(handle, lambda v: bool(v.open_tasks), "the put-back task")
    await handle.execute_update(
        OrderWorkflow.complete_task,
        CompleteTaskCommand(
            task_id=open_task(current, TaskKind.PUT_BACK), note="back on shelf", actor=WAREHOUSE
        ),
    )
    await handle.result()


async def refund_completed_by_finance(r: Recording) -> None:
    """P4.2: the gateway refuses the refund (simulated decline); finance pays it by hand."""
    order = goods_order(r.order_id("manualrefund"))
    order.payment.transaction_id = f"FAIL-{r.suffix}"
    handle = await r.start_order(order)
    await handle.execute_update(
        OrderWorkflow.cancel, CancelCommand(reason="customer cancelled", actor=SERVICE)
    )
    current = await until(
        handle, lambda v: any(f.state.value == "failed" for f in v.refunds), "a refused refund"
    )
    [refund] = current.refunds
    await handle.execute_update(
        OrderWorkflow.complete_refund,
        CompleteRefundCommand(refund_id=refund.refund_id, reference="BANK-77", actor=FINANCE),
    )
    await handle.result()


# --- P5.1 payment exceptions -----------------------------------------------------------------


async def duplicate_payment(r: Recording) -> None:
    """P5.1: a payment taken twice is booked and refunded; service and finance follow up."""
    order_id = r.order_id("duplicate")
    handle = await r.start_order(goods_order(order_id, sku="SVC-INSTALL", kind="service"))
    # The gateway did charge the customer twice: it confirms the second capture.
    SimulatedPaymentGateway(r.db).record_capture(f"TX-DUP-{r.suffix}", order_id, Decimal("258.00"))
    await payment_event(handle, PaymentEventKind.DUPLICATE, "PE1", f"TX-DUP-{r.suffix}")
    current = await until(handle, lambda v: len(v.open_tasks) == 3, "the follow-up tasks")
    for kind, actor in ((TaskKind.CONTACT_CUSTOMER, SERVICE), (TaskKind.ACCOUNT_PAYMENT, FINANCE)):
        await handle.execute_update(
            OrderWorkflow.complete_task,
            CompleteTaskCommand(task_id=open_task(current, kind), note="done", actor=actor),
        )
    await review(handle, approved=True)
    await visit_and_confirm(handle, confirmed_by=PLATFORM)


async def unpaid_after_failed_payment(r: Recording) -> None:
    """P5.1: an unpaid order whose payment failed is cancelled when the deadline passes."""
    order = goods_order(r.order_id("unpaid"), sku="SVC-INSTALL", kind="service")
    order.payment.status = PaymentStatus.UNPAID
    order.payment.method = PaymentMethod.CASH_ON_DELIVERY
    order.payment.transaction_id = None
    policy = RECORDING_POLICY.model_copy(update={"unpaid_payment_deadline": timedelta(seconds=2)})
    handle = await r.start_order(order, policy=policy)
    await payment_event(handle, PaymentEventKind.FAILED, "PE1", "TX-FAILED")
    current = await until(handle, lambda v: v.status.value == "cancelled", "the cancellation")
    await handle.execute_update(
        OrderWorkflow.complete_task,
        CompleteTaskCommand(
            task_id=open_task(current, TaskKind.CONTACT_CUSTOMER), note="called", actor=SERVICE
        ),
    )
    await handle.result()


def _unpaid_online(order: NewOrder) -> NewOrder:
    """The order before its payment went through (P2.1): paid online, not yet paid."""
    order.payment.status = PaymentStatus.UNPAID
    order.payment.transaction_id = None
    return order


async def paid_after_waiting(r: Recording) -> None:
    """P2.1: an online order waits for its payment; paid, it is reviewed and ships."""
    r.set_stock("SKU-KETTLE", 100)
    handle = await r.start_order(_unpaid_online(goods_order(r.order_id("awaiting"))))
    await until(handle, lambda v: v.status.value == "awaiting_payment", "awaiting_payment")
    await payment_event(handle, PaymentEventKind.SUCCEEDED, "PE1", "TX-PAID-LATE")
    await review(handle, approved=True)
    await ship_and_deliver(handle, goods=True)


async def cash_on_delivery_remitted(r: Recording) -> None:
    """P2.1: cash on delivery ships unpaid and completes once the carrier remits the cash."""
    r.set_stock("SKU-KETTLE", 100)
    order = goods_order(r.order_id("cod"))
    order.payment.status = PaymentStatus.UNPAID
    order.payment.method = PaymentMethod.CASH_ON_DELIVERY
    order.payment.transaction_id = None
    handle = await r.start_order(order)
    await review(handle, approved=True)
    await ship_and_deliver(handle, goods=True, remittance=Decimal("258.00"))


async def unpaid_at_payment_deadline(r: Recording) -> None:
    """P2.1: an online order never paid is cancelled when its payment deadline passes."""
    order = _unpaid_online(goods_order(r.order_id("never-paid")))
    policy = RECORDING_POLICY.model_copy(update={"payment_deadline": timedelta(seconds=2)})
    handle = await r.start_order(order, policy=policy)
    await until(handle, lambda v: v.status.value == "cancelled", "the cancellation")
    await handle.result()


# --- P5.2 logistics exceptions ---------------------------------------------------------------


async def _in_transit(
    r: Recording, name: str, policy: PolicySettings = RECORDING_POLICY
) -> WorkflowHandle[OrderWorkflow, Any]:
    r.set_stock("SKU-KETTLE", 100)
    handle = await r.start_order(goods_order(r.order_id(name)), policy=policy)
    await review(handle, approved=True)
    await handle.execute_update(
        OrderWorkflow.pack,
        PackCommand(packages=1, accessories=["manual", "warranty_card"], actor=WAREHOUSE),
    )
    await handle.execute_update(
        OrderWorkflow.dispatch,
        DispatchCommand(
            carrier="SF Express",
            method=DeliveryMethod.STANDARD,
            tracking_number="SF-1",
            actor=LOGISTICS,
        ),
    )
    return handle


async def _exception(
    handle: WorkflowHandle[OrderWorkflow, Any],
    event: TrackingEventKind,
    resolution: Resolution,
    compensation: str,
) -> None:
    await handle.signal(
        OrderWorkflow.tracking, TrackingCommand(event_id=f"X-{event}", event=event, actor=LOGISTICS)
    )
    current = await until(handle, lambda v: bool(v.cases), "an exception case")
    case_id = current.cases[0].case_id
    await handle.execute_update(
        OrderWorkflow.record_cause,
        CauseCommand(
            case_id=case_id, cause="mis-sorted", corrective_action="rescan rule", actor=LOGISTICS
        ),
    )
    await handle.execute_update(
        OrderWorkflow.decide_exception,
        ExceptionDecisionCommand(
            case_id=case_id,
            resolution=resolution,
            compensation=Decimal(compensation),
            actor=SERVICE,
        ),
    )


async def lost_parcel_reshipped(r: Recording) -> None:
    """P5.2: a lost parcel: compensation, cause recorded, a new shipment."""
    handle = await _in_transit(r, "lost")
    await _exception(handle, TrackingEventKind.LOST, Resolution.RESHIP, "20.00")
    await ship_and_deliver(handle, goods=True)


async def damaged_parcel_refunded(r: Recording) -> None:
    """P5.2: a damaged parcel is refunded; the order ends refunded."""
    handle = await _in_transit(r, "damaged")
    await _exception(handle, TrackingEventKind.DAMAGED, Resolution.REFUND, "0.00")
    await handle.result()


async def delayed_parcel(r: Recording) -> None:
    """P5.2: a delay is compensated and investigated; the parcel arrives."""
    handle = await _in_transit(r, "delayed")
    await _exception(handle, TrackingEventKind.DELAYED, Resolution.NONE, "5.00")
    await handle.signal(
        OrderWorkflow.tracking,
        TrackingCommand(event_id="D1", event=TrackingEventKind.DELIVERED, actor=PLATFORM),
    )
    await handle.result()


# --- P5.3 returns and exchanges --------------------------------------------------------------

#: Windows long enough to drive a return while it is open, short enough to finish.
AFTER_SALES_POLICY = RECORDING_POLICY.model_copy(
    update={"return_window": timedelta(seconds=4), "exchange_window": timedelta(seconds=4)}
)


async def _delivered(r: Recording, name: str) -> WorkflowHandle[OrderWorkflow, Any]:
    handle = await _in_transit(r, name, AFTER_SALES_POLICY)
    await handle.signal(
        OrderWorkflow.tracking,
        TrackingCommand(event_id="D1", event=TrackingEventKind.DELIVERED, actor=PLATFORM),
    )
    await until(handle, lambda v: v.status.value == "delivered", "delivery")
    return handle


async def _return(
    handle: WorkflowHandle[OrderWorkflow, Any], kind: ReturnKind, confirmed: bool, restock: bool
) -> None:
    asked: ActionResult = await handle.execute_update(
        OrderWorkflow.request_return, ReturnCommand(kind=kind, reason="it leaks", actor=SERVICE)
    )
    assert asked.case_id is not None
    await handle.execute_update(
        OrderWorkflow.decide_return,
        DecideReturnCommand(case_id=asked.case_id, approved=True, actor=SERVICE),
    )
    await handle.execute_update(
        OrderWorkflow.inspect_return,
        InspectionCommand(
            case_id=asked.case_id, quality_confirmed=confirmed, restock=restock, actor=WAREHOUSE
        ),
    )
    if confirmed:
        current = await view(handle)
        await handle.execute_update(
            OrderWorkflow.complete_task,
            CompleteTaskCommand(
                task_id=open_task(current, TaskKind.ADJUST_ACCOUNTS), note="done", actor=FINANCE
            ),
        )
        # P5.3: sales claims the goods from the supplier: agreed, then credited.
        claim = next(c for c in current.cases if c.kind is CaseKind.SUPPLIER_CLAIM)
        for step, details in (
            (ClaimStep.AGREED, {"amount": Decimal(str(claim.data["value"]))}),
            (ClaimStep.CREDITED, {"reference": f"CN-{claim.case_id}"}),
        ):
            await handle.execute_update(
                OrderWorkflow.supplier_claim,
                SupplierClaimCommand(case_id=claim.case_id, step=step, actor=SALES, **details),
            )


async def quality_return(r: Recording) -> None:
    """P5.3: a confirmed quality problem: the goods come back into stock and are refunded."""
    handle = await _delivered(r, "return")
    await _return(handle, ReturnKind.RETURN, confirmed=True, restock=True)
    await handle.result()


async def quality_exchange(r: Recording) -> None:
    """P5.3: an exchange: the faulty goods are written off and new ones ship."""
    handle = await _delivered(r, "exchange")
    await _return(handle, ReturnKind.EXCHANGE, confirmed=True, restock=False)
    await ship_and_deliver(handle, goods=True)


async def return_without_a_problem(r: Recording) -> None:
    """P5.3: the inspection finds no quality problem; the case closes without money."""
    handle = await _delivered(r, "noproblem")
    await _return(handle, ReturnKind.RETURN, confirmed=False, restock=False)
    await handle.result()


# --- P7 feedback and P6.3 reports ------------------------------------------------------------


async def feedback_answered(r: Recording) -> None:
    """P7.2-P7.3: a complaint is answered within its deadline and its result recorded."""
    feedback_id = f"FB-{r.suffix}".upper()
    request = FeedbackRequest(
        feedback_id=feedback_id,
        kind=FeedbackKind.COMPLAINT,
        channel=Channel.HOTLINE,
        customer_id="C1001",
        message="the kettle arrived late",
    )
    handle = await r.client.start_workflow(
        FeedbackWorkflow.run,
        FeedbackWorkflowInput(
            feedback_id=feedback_id,
            request=request,
            policy=RECORDING_POLICY,
            submitted_by=PLATFORM,
            fingerprint=fingerprint(request.model_dump(mode="json")),
        ),
        id=feedback_workflow_id(feedback_id),
        task_queue=r.task_queue,
        static_summary="Feedback (recorded scenario)",
    )
    await handle.execute_update(
        FeedbackWorkflow.reply,
        FeedbackReplyCommand(message="sorry: we are looking into it", actor=SERVICE),
    )
    await handle.execute_update(
        FeedbackWorkflow.resolve,
        FeedbackResolveCommand(
            outcome=FeedbackOutcome.COMPENSATED,
            result="voucher sent",
            referred_to=[D.LOGISTICS],
            actor=SERVICE,
        ),
    )
    await handle.result()
    r.workflows.append(("feedback", handle.id))


async def _scheduled_run(
    r: Recording, label: str, name: str, run: Any, argument: Any, summary: str
) -> None:
    """One run of a workflow that a Schedule starts, recorded under `label`."""
    workflow_id = f"{name}-{r.suffix}"
    await r.client.execute_workflow(
        run,
        argument,
        id=workflow_id,
        task_queue=r.task_queue,
        static_summary=f"{summary} (recorded scenario)",
    )
    r.workflows.append((label, workflow_id))


async def daily_report(r: Recording) -> None:
    """P6.3: one run of the ReportingWorkflow that the daily Schedule starts."""
    await _scheduled_run(
        r, "report", "daily-report", ReportingWorkflow.run, ReportingInput(), "Daily report"
    )


async def weekly_supervision(r: Recording) -> None:
    """P8.1.1: one run of the SupervisionWorkflow that the weekly Schedule starts."""
    await _scheduled_run(
        r,
        "supervision",
        "weekly-supervision",
        SupervisionWorkflow.run,
        SupervisionInput(),
        "Weekly supervision checks",
    )


async def monthly_scorecards(r: Recording) -> None:
    """P8.2, P8.3: one run of the ScorecardWorkflow that the monthly Schedule starts."""
    await _scheduled_run(
        r,
        "scorecards",
        "monthly-scorecards",
        ScorecardWorkflow.run,
        ScorecardInput(),
        "Monthly scorecards",
    )


async def rectification_reopened_and_closed(r: Recording) -> None:
    """P8.1.3: a finding's item answered, rejected and reopened, answered again, accepted."""
    item_id = rectification_item_id(r.order_id("rectified"), "late_task", 1)
    handle = await r.client.start_workflow(
        RectificationWorkflow.run,
        RectificationItemInput(
            item_id=item_id,
            order_id=r.order_id("rectified"),
            rule="late_task",
            clause="P8.1",
            department=D.SALES,
            message="review task done 3 h after its deadline",
            found_at=datetime.now(UTC),
            owner="sales-lead",
            deadline=timedelta(days=14),
            policy=RECORDING_POLICY,
        ),
        id=rectification_workflow_id(item_id),
        task_queue=r.task_queue,
        static_summary="Rectification (recorded scenario)",
    )
    sales = Actor(staff_id="sales-lead", department=D.SALES)
    supervisor = Actor(staff_id="supervisor-1", department=D.SUPERVISION)
    answer = RectificationAnswerCommand(
        cause="no one on the review rota", corrective_action="rota", evidence="ROTA-1", actor=sales
    )
    await handle.execute_update(RectificationWorkflow.answer, answer)
    await handle.execute_update(
        RectificationWorkflow.verify,
        RectificationVerifyCommand(accepted=False, note="no proof", actor=supervisor),
    )
    await handle.execute_update(RectificationWorkflow.answer, answer)
    await handle.execute_update(
        RectificationWorkflow.verify,
        RectificationVerifyCommand(accepted=True, note="ok", actor=supervisor),
    )
    await handle.result()
    r.workflows.append(("rectification", handle.id))


Scenario = Callable[[Recording], Awaitable[None]]

#: Every path recorded in tests/histories/, by file-name prefix. Add new paths here.
SCENARIOS: dict[str, Scenario] = {
    "happy-path": happy_path,
    "booked-with-the-carrier": booked_with_the_carrier,
    "needs-correction": needs_correction,
    "rejection": rejection,
    "unlisted-restricted-product": unlisted_restricted_product,
    "risky-service-order": risky_service_order,
    "out-of-stock-restock": out_of_stock_restock,
    "stock-count-restock": stock_count_restock,
    "overdue-escalation": overdue_escalation,
    "claim-and-unclaim": claim_and_unclaim,
    "nightly-backup": nightly_backup,
    "change-address-and-goods": change_address_and_goods,
    "cancel-paid-order": cancel_paid_order,
    "cancel-packed-order": cancel_packed_order,
    "refund-completed-by-finance": refund_completed_by_finance,
    "duplicate-payment": duplicate_payment,
    "unpaid-after-failed-payment": unpaid_after_failed_payment,
    "paid-after-waiting": paid_after_waiting,
    "unpaid-at-payment-deadline": unpaid_at_payment_deadline,
    "cash-on-delivery-remitted": cash_on_delivery_remitted,
    "lost-parcel-reshipped": lost_parcel_reshipped,
    "damaged-parcel-refunded": damaged_parcel_refunded,
    "delayed-parcel": delayed_parcel,
    "quality-return": quality_return,
    "quality-exchange": quality_exchange,
    "return-without-a-problem": return_without_a_problem,
    "feedback-answered": feedback_answered,
    "daily-report": daily_report,
    "weekly-supervision": weekly_supervision,
    "monthly-scorecards": monthly_scorecards,
    "rectification-reopened-and-closed": rectification_reopened_and_closed,
}
