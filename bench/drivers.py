"""Two ways to drive an order through its main line: the Temporal client, and the HTTP API.

Both take the same steps a platform and the departments take (create, review,
pack, dispatch, tracking up to delivered) and time each round trip. Sales
reviews an order once it is in their inbox, as a person would: one `Inbox` per
phase looks at the review inbox every 100 ms for all orders at once (the task
list over HTTP; a visibility query on `OrderStatus` through the client), and the
wait is timed as `intake`. Should a review still come too early, the workflow
refuses it without trace, and the driver tries again and counts it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import httpx
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from config.settings import Settings
from domain.actors import Actor, Department
from domain.catalogue import Product
from domain.commands import (
    DeliveryMethod,
    DispatchCommand,
    PackCommand,
    ReviewCommand,
    TrackingCommand,
    TrackingEventKind,
)
from domain.ids import fingerprint, order_id_from_workflow_id, order_workflow_id
from domain.order.details import Customer, NewOrder, OrderItem, Payment, PaymentStatus, Shipping
from workers.order_start import start_order
from workflows import search_attributes as sa
from workflows.order import OrderWorkflow

#: What each staff action answers on the happy path (api.md).
EXPECTED_STATUS = {
    "review": "ready_to_pack",
    "pack": "awaiting_dispatch",
    "dispatch": "in_transit",
}
ACCESSORIES = ["manual", "warranty_card"]
#: How often, at most, a review is retried while the order is still being taken in.
MAX_EARLY_RETRIES = 200
#: How often sales look at their inbox (seconds).
INBOX_EVERY = 0.1


def bench_product(sku: str) -> Product:
    """What the benchmark's catalogue says of each of its skus (bench/seed.py puts them)."""
    return Product(
        sku=sku,
        name="kettle",
        list_price=Decimal("129.00"),
        floor_price=Decimal("99.00"),
        accessories=ACCESSORIES,
    )


def new_order(order_id: str, sku: str) -> NewOrder:
    """A plain, paid, low-value order of one line: the happy path, no phone verification."""
    price = Decimal("129.00")
    return NewOrder(
        order_id=order_id,
        customer=Customer(id="C-BENCH", name="Li Lei", phone="13800138000"),
        items=[OrderItem(sku=sku, name="kettle", quantity=1, unit_price=price)],
        shipping=Shipping(
            address="1 Chaoyang Rd, Beijing", contact_name="Li Lei", contact_phone="13800138000"
        ),
        payment=Payment(status=PaymentStatus.PAID, amount=price, transaction_id=f"TX-{order_id}"),
    )


class Refused(Exception):
    """The workflow refused the action (409); `status` is the order's status then."""

    def __init__(self, detail: str, status: str | None) -> None:
        super().__init__(detail)
        self.status = status


@dataclass(frozen=True)
class StaffMember:
    staff_id: str
    department: Department
    token: str

    @property
    def actor(self) -> Actor:
        return Actor(staff_id=self.staff_id, department=self.department)


class Driver(Protocol):
    #: "update" (the Temporal client) or "http" (the API), as results name them.
    path: str

    async def create(self, order: NewOrder) -> None: ...

    async def review_inbox(self) -> set[str]:
        """The orders in sales' review inbox now (intake done)."""
        ...

    async def act(self, action: str, order_id: str) -> str: ...

    async def track(self, order_id: str, event_id: str, event: TrackingEventKind) -> None: ...


def refusal_of(error: WorkflowUpdateFailedError) -> tuple[str, str | None]:
    """The workflow's refusal as the API would report it: its message and the order's status
    (workflows/refusals.py puts the status in the failure's details)."""
    cause = error.cause
    if not isinstance(cause, ApplicationError):
        return "the order could not apply the action", None
    details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
    return cause.message, details.get("status")


class UpdateDriver:
    """Through the Temporal client: a workflow start, Updates for actions, a signal for tracking."""

    path = "update"

    def __init__(self, client: Client, settings: Settings, staff: dict[Department, StaffMember]):
        self.client = client
        self.settings = settings
        self.staff = staff

    def _actor(self, department: Department) -> Actor:
        return self.staff[department].actor

    async def create(self, order: NewOrder) -> None:
        await start_order(
            self.client,
            self.settings,
            order,
            self._actor(Department.PLATFORM),
            fingerprint(order.model_dump(mode="json")),
            # What the API would read from the catalogue (the same as bench/seed.py put).
            [bench_product(sku) for sku in order.quantities()],
        )

    async def review_inbox(self) -> set[str]:
        query = (
            f'{sa.ORDER_STATUS.name} = "under_review" AND TaskQueue = "{self.settings.task_queue}"'
            ' AND ExecutionStatus = "Running"'
        )
        found = set()
        async for execution in self.client.list_workflows(query):
            order_id = order_id_from_workflow_id(execution.id)
            if order_id is not None:
                found.add(order_id)
        return found

    async def act(self, action: str, order_id: str) -> str:
        handle = self.client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))
        try:
            if action == "review":
                command: Any = ReviewCommand(
                    approved=True, note="bench", actor=self._actor(Department.SALES)
                )
                result = await handle.execute_update(OrderWorkflow.review, command)
            elif action == "pack":
                command = PackCommand(
                    packages=1, accessories=ACCESSORIES, actor=self._actor(Department.WAREHOUSE)
                )
                result = await handle.execute_update(OrderWorkflow.pack, command)
            else:
                command = DispatchCommand(
                    carrier="SF Express",
                    method=DeliveryMethod.EXPRESS,
                    tracking_number=f"SF-{order_id}",
                    actor=self._actor(Department.LOGISTICS),
                )
                result = await handle.execute_update(OrderWorkflow.dispatch, command)
        except WorkflowUpdateFailedError as error:
            raise Refused(*refusal_of(error)) from None
        return str(result.status.value)

    async def track(self, order_id: str, event_id: str, event: TrackingEventKind) -> None:
        handle = self.client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))
        await handle.signal(
            OrderWorkflow.tracking,
            TrackingCommand(event_id=event_id, event=event, actor=self._actor(Department.PLATFORM)),
        )


class HttpDriver:
    """Through the HTTP API with real bearer tokens, as the departments' tools call it."""

    path = "http"

    def __init__(self, http: httpx.AsyncClient, staff: dict[Department, StaffMember]) -> None:
        self.http = http
        self.headers = {d: {"Authorization": f"Bearer {m.token}"} for d, m in staff.items()}

    async def _post(self, department: Department, path: str, body: Any) -> httpx.Response:
        response = await self.http.post(path, json=body, headers=self.headers[department])
        if response.status_code == 409:
            payload = response.json()
            raise Refused(str(payload.get("detail")), payload.get("status"))
        if response.status_code >= 300:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response

    async def create(self, order: NewOrder) -> None:
        await self._post(Department.PLATFORM, "/api/v1/orders", order.model_dump(mode="json"))

    async def review_inbox(self) -> set[str]:
        found: set[str] = set()
        params = {"department": "sales", "kind": "review", "limit": "500"}
        while True:
            response = await self.http.get(
                "/api/v1/tasks", params=params, headers=self.headers[Department.SALES]
            )
            response.raise_for_status()
            page = response.json()
            found.update(task["order_id"] for task in page["items"])
            if not page.get("next_cursor"):
                return found
            params["cursor"] = page["next_cursor"]

    async def act(self, action: str, order_id: str) -> str:
        path = f"/api/v1/orders/{order_id}/{action}"
        if action == "review":
            response = await self._post(Department.SALES, path, {"approved": True, "note": "bench"})
        elif action == "pack":
            response = await self._post(
                Department.WAREHOUSE, path, {"packages": 1, "accessories": ACCESSORIES}
            )
        else:
            body = {
                "carrier": "SF Express",
                "method": "express",
                "tracking_number": f"SF-{order_id}",
            }
            response = await self._post(Department.LOGISTICS, path, body)
        return str(response.json()["status"])

    async def request_return(self, order_id: str) -> str:
        """P5.3: customer service asks for a return of a delivered order; its case's id."""
        response = await self._post(
            Department.CUSTOMER_SERVICE,
            f"/api/v1/orders/{order_id}/returns",
            {"kind": "return", "reason": "bench", "reason_code": "other"},
        )
        return str(response.json()["case_id"])

    async def track(self, order_id: str, event_id: str, event: TrackingEventKind) -> None:
        await self._post(
            Department.PLATFORM,
            f"/api/v1/orders/{order_id}/tracking",
            {"event_id": event_id, "event": event.value, "location": "Beijing"},
        )


@dataclass
class Recorder:
    """Round trips per step of the measured orders, and what went wrong."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    #: Reviews refused because they came before intake was done.
    early_retries: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, step: str, seconds: float) -> None:
        self.samples.setdefault(step, []).append(seconds)


async def timed(record: Callable[[float], None], call: Any) -> Any:
    started = time.perf_counter()
    result = await call
    record(time.perf_counter() - started)
    return result


def tracking_events(count: int) -> list[TrackingEventKind]:
    """`count` carrier scans, the last one the delivery."""
    scans = [TrackingEventKind.IN_TRANSIT, TrackingEventKind.OUT_FOR_DELIVERY]
    return [scans[i % len(scans)] for i in range(max(count - 1, 0))] + [TrackingEventKind.DELIVERED]


class Inbox:
    """Sales' review inbox as one member of staff watches it: one look for all orders."""

    def __init__(self, driver: Driver, every: float = INBOX_EVERY) -> None:
        self.driver = driver
        self.every = every
        self.looks = 0
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._watching: asyncio.Task[None] | None = None

    async def wait_for(self, order_id: str) -> None:
        """Until the order is in the inbox."""
        future = asyncio.get_running_loop().create_future()
        self._waiting[order_id] = future
        if self._watching is None or self._watching.done():
            self._watching = asyncio.create_task(self._watch())
        await future

    async def _watch(self) -> None:
        while self._waiting:
            try:
                seen = await self.driver.review_inbox()
            except Exception as error:
                for future in self._waiting.values():
                    future.set_exception(error)
                self._waiting.clear()
                return
            self.looks += 1
            for order_id in seen & set(self._waiting):
                self._waiting.pop(order_id).set_result(None)
            await asyncio.sleep(self.every)


async def drive_order(
    driver: Driver,
    inbox: Inbox,
    order: NewOrder,
    recorder: Recorder | None,
    *,
    scans: int = 1,
) -> None:
    """Create the order and take it to delivered; `recorder` None means a warm-up order."""

    def keep(step: str) -> Callable[[float], None]:
        return (lambda s: recorder.add(step, s)) if recorder is not None else (lambda s: None)

    order_id = order.order_id
    await timed(keep("create"), driver.create(order))
    await timed(keep("intake"), inbox.wait_for(order_id))
    for action in ("review", "pack", "dispatch"):
        for attempt in range(MAX_EARLY_RETRIES + 1):
            try:
                status = await timed(keep(action), driver.act(action, order_id))
                break
            except Refused as refusal:
                if refusal.status != "received" or attempt == MAX_EARLY_RETRIES:
                    raise
                if recorder is not None:
                    recorder.early_retries += 1  # a refused attempt is not timed
                await asyncio.sleep(0.005 * (attempt + 1))
        if status != EXPECTED_STATUS[action]:
            raise RuntimeError(f"{action} of {order_id} answered {status}")
    for n, event in enumerate(tracking_events(scans), start=1):
        await timed(keep("tracking"), driver.track(order_id, f"E{n}", event))
