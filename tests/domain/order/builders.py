"""Orders in any state, for the aggregate's tests: plain objects, no server, no database.

`Story` drives one `Order` through the policy the way staff and the platform would,
with a clock that moves on by a minute per step unless told otherwise, and answers
the aggregate's requests (a reservation, a refund) as the inventory and the gateway
would. Each step returns the aggregate's `Decision`, so a test reads:

    story = Story.at(OrderStatus.READY_TO_PACK, paid=True)
    decision = story.cancel("changed my mind")
    assert decision.refunds[0].amount == Decimal("258.00")
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.actors import Actor, Department
from domain.carriers import BookedShipment, ShipmentBooking
from domain.cases import CaseKind
from domain.catalogue import Product
from domain.commands import (
    AppointmentCommand,
    BackorderCommand,
    CancelCommand,
    CauseCommand,
    ChangeCommand,
    ClaimStep,
    ClaimTaskCommand,
    ComplaintResolution,
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
    Resolution,
    ReturnCommand,
    ReturnKind,
    ReturnLine,
    ReviewCommand,
    ServiceComplaintCommand,
    ServiceConfirmationCommand,
    ServiceWorkCommand,
    StockReplenished,
    SupplierClaimCommand,
    TrackingCommand,
    TrackingEventKind,
)
from domain.inventory import Reservation, ReserveStock
from domain.ledger import CaptureAnswer, CaptureQuery, RefundOutcome, RefundRequest
from domain.notifications import NoticesSent
from domain.order.aggregate import Order
from domain.order.decision import Decision
from domain.order.details import NewOrder, OrderItem, Shipping
from domain.order.writes import OrderChanges
from domain.policy import PolicySettings
from domain.review_checklist import CustomerStanding
from domain.states import OrderStatus
from domain.tasks import Task, TaskKind
from tests.support.catalogue import any_price
from tests.support.orders import order_body

S = OrderStatus
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ACCESSORIES = ["manual", "warranty_card"]


def actor(department: Department | str, staff_id: str | None = None) -> Actor:
    department = Department(department)
    return Actor(staff_id=staff_id or f"{department.value}-1", department=department)


def catalogue_for(items: list[OrderItem], kind: str = "goods") -> list[Product]:
    """What the catalogue says of these lines' products: listed at the lines' prices, sold
    down to 0.01, with the usual accessories (tests of prices, legality and accessories
    give their own)."""
    return [
        Product(
            sku=line.sku,
            **any_price(line.sku, kind).model_dump(exclude={"list_price"}),
            list_price=line.unit_price,
        )
        for line in items
    ]


def product(sku: str, **details: Any) -> Product:
    """A product of the catalogue: 129.00, down to 99.00, with the usual accessories."""
    details.setdefault("name", sku.lower())
    details.setdefault("list_price", Decimal("129.00"))
    details.setdefault("floor_price", Decimal("99.00"))
    details.setdefault("accessories", ACCESSORIES)
    return Product(sku=sku, **details)


def new_order(**changes: Any) -> NewOrder:
    """An order as the platform hands it over; `order_body`'s options change it."""
    changes.setdefault("order_id", "JD1")
    order_id = changes.pop("order_id")
    return NewOrder.model_validate(order_body(order_id, **changes))


def booked_by_carrier(booking: ShipmentBooking) -> BookedShipment:
    """A carrier the system books, booking everything (P3.4)."""
    number = "SIM" + booking.booking_id.rsplit(":", 1)[-1].zfill(6)
    return BookedShipment(
        booking_id=booking.booking_id, carrier=booking.carrier, tracking_number=number
    )


class Story:
    """One order and its clock. Requests are answered at once unless `auto=False`."""

    def __init__(
        self,
        order: NewOrder | None = None,
        *,
        policy: PolicySettings | None = None,
        stock: Callable[[ReserveStock], Reservation] | None = None,
        gateway: Callable[[RefundRequest], RefundOutcome] | None = None,
        captures: Callable[[CaptureQuery], CaptureAnswer] | None = None,
        auto: bool = True,
        products: list[Product] | None = None,
        customer: CustomerStanding | None = None,
        carrier: Callable[[ShipmentBooking], BookedShipment] | None = None,
        notices_delivered: bool = True,
    ) -> None:
        self.now = START
        order = order or new_order()
        self.order = Order.new(
            order,
            policy or PolicySettings(),
            actor(Department.PLATFORM, "platform"),
            "fingerprint",
            self.now,
            catalogue_for(order.items, order.kind.value) if products is None else products,
            customer,
        )
        self.stock = stock or in_stock
        self.gateway = gateway or refunds_paid
        #: What the gateway says of a reported duplicate capture (P5.1).
        self.captures = captures or captured_as_reported
        #: What a carrier the system books answers (P3.4): booked, with its number.
        self.carrier = carrier or booked_by_carrier
        #: Whether the channel delivers the customer's notices at once (and which it sent).
        self.notices_delivered = notices_delivered
        self.sent: list[str] = []
        self.auto = auto
        #: Every request the aggregate made, in order, answered or not.
        self.requests: list[Any] = []
        self.opening = self._answer(self.order.start(self.now))

    # --- building orders in a given state --------------------------------------------------

    @classmethod
    def at(cls, status: OrderStatus, **options: Any) -> Story:
        """An order driven to `status` along the main line; `order_body`'s options change
        the order (paid=False, kind="service", lines=...), `policy=` the policy."""
        policy = options.pop("policy", None)
        story = cls(new_order(**options), policy=policy)
        story.advance_to(status)
        return story

    def advance_to(self, status: OrderStatus) -> None:
        if self.state.order.kind.value == "service":
            self._serve_to(status)
            return
        steps: dict[OrderStatus, Callable[[], Any]] = {
            S.READY_TO_PACK: self.approve,
            S.AWAITING_DISPATCH: self.pack,
            S.IN_TRANSIT: self.dispatch,
            S.DELIVERED: lambda: self.track(TrackingEventKind.DELIVERED),
            S.COMPLETED: self.after_sales_window_passes,
        }
        order = list(steps)
        if status in (S.UNDER_REVIEW, S.NEEDS_CORRECTION):
            assert self.status is status, f"the order is {self.status}, not {status}"
            return
        assert status in steps, f"no main-line way to {status}"
        for step in order:
            if self.status is status:
                return
            steps[step]()
        assert self.status is status, f"the order is {self.status}, not {status}"

    def _serve_to(self, status: OrderStatus) -> None:
        """A service order along its line (P1.2): visit, work, confirmation, window."""
        steps: dict[OrderStatus, Callable[[], Any]] = {
            S.AWAITING_APPOINTMENT: self.approve,
            S.SERVICE_SCHEDULED: self.schedule_visit,
            S.AWAITING_CONFIRMATION: self.record_work,
            S.DELIVERED: self.confirm_service,
            S.COMPLETED: self.after_sales_window_passes,
        }
        if status in (S.UNDER_REVIEW, S.NEEDS_CORRECTION):
            assert self.status is status, f"the order is {self.status}, not {status}"
            return
        assert status in steps, f"no service-line way to {status}"
        for step in steps.values():
            if self.status is status:
                return
            step()
        assert self.status is status, f"the order is {self.status}, not {status}"

    # --- what the aggregate holds ----------------------------------------------------------

    @property
    def state(self) -> Any:
        return self.order.state

    @property
    def status(self) -> OrderStatus:
        return self.order.status

    def open_task(self, kind: TaskKind) -> Task:
        task = self.state.tasks.find_open(kind)
        assert task is not None, f"no open {kind} task; open: {self.open_kinds()}"
        return task

    def open_kinds(self) -> list[TaskKind]:
        return sorted(task.kind for task in self.state.tasks.open_tasks())

    def case_id(self, n: int = -1) -> str:
        return list(self.state.cases)[n]

    def refundable(self) -> Decimal:
        return self.order._refundable()

    # --- the clock -------------------------------------------------------------------------

    def tick(self, by: timedelta = timedelta(minutes=1)) -> datetime:
        self.now += by
        return self.now

    def ring_at(self, when: datetime) -> Decision:
        """Time passes to `when` and the order is told what fell due (its alarm)."""
        self.now = when
        return self._answer(self.order.ring(when))

    def ring_next(self) -> Decision:
        alarm = self.order.next_alarm()
        assert alarm is not None, "nothing is due"
        return self.ring_at(max(alarm, self.now))

    def after_sales_window_passes(self) -> Decision:
        window = self.state.policy.after_sales_window
        return self.ring_at(self.order._delivered_at() + window)

    # --- answering the aggregate's requests ------------------------------------------------

    def _answer(self, decision: Decision) -> Decision:
        """Answer every request as the world outside would; return the combined decision.

        With `auto=False` reservations and refunds stay unanswered (the test answers them);
        the gateway's word on a reported capture is always given (`captures`)."""
        pending = list(decision.requests)
        self.requests += pending
        while pending:
            request = pending.pop(0)
            if not self.auto and not isinstance(request, CaptureQuery):
                continue
            if isinstance(request, ReserveStock):
                answered = self.order.stock_answer(self.stock(request), self.now)
            elif isinstance(request, CaptureQuery):
                answered = self.order.capture_answer(self.captures(request), self.now)
            elif isinstance(request, ShipmentBooking):
                answered = self.order.booking_answer(self.carrier(request), self.now)
            else:
                answered = self.order.refund_answer(self.gateway(request), self.now)
            pending += answered.requests
            self.requests += answered.requests
            merge(decision, answered)
        if self.auto and self.notices_delivered:
            self._deliver_notices(decision)
        return decision

    def deliver_notices(self) -> Decision:
        """The channel delivers every notice made so far; what the order decided then."""
        decision = Decision()
        self._deliver_notices(decision)
        return decision

    def _deliver_notices(self, decision: Decision) -> None:
        """The workflow writes what changed and the channel delivers every notice."""
        while self.flush() is not None:
            for sending in self.order.follow_ups():
                self.sent += sending.notification_ids
                answer = NoticesSent(order_id=sending.order_id, sent=sending.notification_ids)
                merge(decision, self.order.notices_answer(answer, self.now))

    def act(
        self,
        method: Callable[[Any, datetime], Decision],
        command: Any,
        admit: Callable[[Any, datetime], None] | None = None,
    ) -> Decision:
        """The command decided now; first `admit`, where the workflow's update validator
        runs a check of its own (`admit_*`), as the validator does."""
        now = self.tick()
        if admit is not None:
            admit(command, now)
        return self._answer(method(command, now))

    def flush(self) -> OrderChanges | None:
        """What the workflow writes now (the outbox's notices with the events), confirmed."""
        changes = self.order.take_writes()
        if changes is not None:
            self.order.written(changes)
        return changes

    # --- the staff and the platform --------------------------------------------------------

    def approve(self, *, phone_verified: bool | None = None, by: str = "sales") -> Decision:
        command = ReviewCommand(actor=actor(by), approved=True, phone_verified=phone_verified)
        return self.act(self.order.review, command)

    def reject(self, note: str = "not legal to sell") -> Decision:
        command = ReviewCommand(actor=actor("sales"), approved=False, note=note)
        return self.act(self.order.review, command)

    def correct(self, by: str = "customer_service", **parts: Any) -> Decision:
        if "items" in parts and "products" not in parts:
            parts["products"] = catalogue_for(parts["items"], self.state.order.kind.value)
        command = CorrectionCommand(actor=actor(by), **parts)
        return self.act(self.order.correct, command, admit=self.order.admit_correct)

    def pack(self, accessories: list[str] | None = None, by: str = "warehouse") -> Decision:
        command = PackCommand(
            actor=actor(by),
            packages=1,
            accessories=ACCESSORIES if accessories is None else accessories,
        )
        return self.act(self.order.pack, command)

    def dispatch(self, by: str = "logistics") -> Decision:
        command = DispatchCommand(
            actor=actor(by),
            carrier="SF Express",
            method=DeliveryMethod.EXPRESS,
            tracking_number="SF1",
        )
        return self.act(self.order.dispatch, command)

    def schedule_visit(
        self,
        *,
        starts_in: timedelta = timedelta(hours=1),
        lasts: timedelta = timedelta(hours=2),
        address: str | None = None,
        by: str = "logistics",
    ) -> Decision:
        """P1.2: logistics agrees a visit with the customer, starting `starts_in` from now."""
        command = AppointmentCommand(
            actor=actor(by),
            window_start=self.now + starts_in,
            window_end=self.now + starts_in + lasts,
            technician="Technician Zhou",
            address=address,
        )
        return self.act(self.order.schedule_service, command)

    def record_work(self, done_at: datetime | None = None, by: str = "logistics") -> Decision:
        """P1.2: the work done on site (at the visit's start unless told), recorded."""
        visit = self.state.visit
        if visit is not None and done_at is None:
            self.now = max(self.now, visit.window_start)
        command = ServiceWorkCommand(
            actor=actor(by), technician="Technician Zhou", work="installed", done_at=done_at
        )
        return self.act(self.order.record_service_work, command)

    def confirm_service(self, by: str = "customer_service") -> Decision:
        command = ServiceConfirmationCommand(actor=actor(by), note="all good")
        return self.act(self.order.confirm_service, command)

    def complain(
        self, resolution: ComplaintResolution | str, by: str = "customer_service"
    ) -> Decision:
        command = ServiceComplaintCommand(
            actor=actor(by), resolution=ComplaintResolution(resolution), reason="still leaks"
        )
        return self.act(self.order.service_complaint, command)

    def track(self, event: TrackingEventKind, event_id: str | None = None) -> Decision:
        command = TrackingCommand(
            actor=actor("platform", "carrier"),
            event_id=event_id or f"E{len(self.state.tracking_seen) + 1}",
            event=event,
        )
        return self.act(self.order.tracking, command)

    def record_backorder(self, eta: datetime | None = None) -> Decision:
        command = BackorderCommand(
            actor=actor("warehouse"),
            reason="supplier late",
            restock_eta=eta or self.now + timedelta(days=3),
        )
        return self.act(self.order.record_backorder, command)

    def restock(self, sku: str = "SKU-1") -> Decision:
        return self.act(self.order.restocked, StockReplenished(sku=sku, receipt_id="R1"))

    def request_change(
        self,
        *,
        shipping: Shipping | None = None,
        items: list[OrderItem] | None = None,
        caused_by_error: bool = False,
    ) -> Decision:
        command = ChangeCommand(
            actor=actor("customer_service"),
            shipping=shipping,
            items=items,
            reason="the customer asked",
            caused_by_error=caused_by_error,
            products=None if items is None else catalogue_for(items, self.state.order.kind.value),
        )
        return self.act(self.order.request_change, command)

    def decide_change(self, approved: bool = True, case_id: str | None = None) -> Decision:
        command = DecideChangeCommand(
            actor=actor("customer_service"),
            case_id=case_id or self.case_id(),
            approved=approved,
            reason="ok" if approved else "no",
        )
        return self.act(self.order.decide_change, command)

    def cancel(self, reason: str = "changed my mind", by: str = "customer_service") -> Decision:
        return self.act(self.order.cancel, CancelCommand(actor=actor(by), reason=reason))

    def payment_event(
        self,
        kind: PaymentEventKind,
        amount: str = "258.00",
        event_id: str | None = None,
        transaction_id: str | None = None,
    ) -> Decision:
        """A payment event; each names a transaction of its own unless told (TX-2, TX-3...)."""
        number = len(self.state.payment_events_seen) + 1
        command = PaymentEventCommand(
            actor=actor("platform", "payments"),
            event_id=event_id or f"P{number}",
            kind=kind,
            amount=Decimal(amount),
            transaction_id=transaction_id or f"TX-{number + 1}",
        )
        return self.act(self.order.payment_event, command)

    def complete_refund(self, refund_id: str, by: str = "finance") -> Decision:
        command = CompleteRefundCommand(actor=actor(by), refund_id=refund_id, reference="BANK-1")
        return self.act(self.order.complete_refund, command)

    def decide_exception(
        self, resolution: Resolution, compensation: str = "0.00", case_id: str | None = None
    ) -> Decision:
        command = ExceptionDecisionCommand(
            actor=actor("customer_service"),
            case_id=case_id or self.case_id(),
            resolution=resolution,
            compensation=Decimal(compensation),
        )
        return self.act(
            self.order.decide_exception, command, admit=self.order.admit_decide_exception
        )

    def record_cause(self, case_id: str | None = None) -> Decision:
        command = CauseCommand(
            actor=actor("logistics"),
            case_id=case_id or self.case_id(),
            cause="dropped at the depot",
            corrective_action="padding",
        )
        return self.act(self.order.record_cause, command)

    def request_return(
        self, kind: ReturnKind = ReturnKind.RETURN, lines: dict[str, int] | None = None
    ) -> Decision:
        """`lines`: {sku: units} coming back (P5.3); none: all that is left."""
        returned = (
            None if lines is None else [ReturnLine(sku=s, quantity=q) for s, q in lines.items()]
        )
        command = ReturnCommand(
            actor=actor("customer_service"), kind=kind, reason="it broke", lines=returned
        )
        return self.act(self.order.request_return, command)

    def decide_return(self, approved: bool = True, case_id: str | None = None) -> Decision:
        command = DecideReturnCommand(
            actor=actor("customer_service"), case_id=case_id or self.case_id(), approved=approved
        )
        return self.act(self.order.decide_return, command)

    def inspect(
        self, confirmed: bool = True, restock: bool = False, case_id: str | None = None
    ) -> Decision:
        command = InspectionCommand(
            actor=actor("warehouse"),
            case_id=case_id or self.case_id(),
            quality_confirmed=confirmed,
            restock=restock,
        )
        return self.act(self.order.inspect_return, command)

    def settle_claim(
        self, step: str = "credited", amount: str | None = None, case_id: str | None = None
    ) -> Decision:
        """P5.3: sales takes the open supplier claim to `step` (through `agreed`)."""
        claim = case_id or next(
            c.case_id
            for c in self.state.cases.values()
            if c.kind is CaseKind.SUPPLIER_CLAIM and c.is_open
        )
        decision = Decision()
        steps = ["agreed", step] if step == "credited" else [step]
        for name in steps:
            command = SupplierClaimCommand(
                actor=actor("sales"),
                case_id=claim,
                step=ClaimStep(name),
                # By default the supplier credits the goods' whole value.
                amount=Decimal(amount or str(self.state.cases[claim].data["value"]))
                if name == "agreed"
                else None,
                reference="CN-1" if name == "credited" else None,
            )
            merge(decision, self.act(self.order.supplier_claim, command))
        return decision

    def complete_task(self, kind: TaskKind, by: str | None = None) -> Decision:
        task = self.open_task(kind)
        command = CompleteTaskCommand(
            actor=actor(by or task.department), task_id=task.task_id, note="done"
        )
        return self.act(self.order.complete_task, command)

    def claim(self, kind: TaskKind, assignee: str | None, by: str | None = None) -> Decision:
        task = self.open_task(kind)
        command = ClaimTaskCommand(
            actor=actor(by or task.department), task_id=task.task_id, assignee=assignee
        )
        return self.act(self.order.claim_task, command)


# --- the world outside, as the aggregate's requests are answered ------------------------------


def in_stock(request: ReserveStock) -> Reservation:
    return Reservation(reservation_key=request.reservation_key, reserved=True)


def short_of(**missing: int) -> Callable[[ReserveStock], Reservation]:
    def answer(request: ReserveStock) -> Reservation:
        short = {sku.replace("_", "-"): n for sku, n in missing.items()}
        return Reservation(reservation_key=request.reservation_key, reserved=False, short=short)

    return answer


def refunds_paid(request: RefundRequest) -> RefundOutcome:
    return RefundOutcome(
        refund_id=request.refund_id, issued=True, reference=f"GW-{request.refund_id}"
    )


def refunds_declined(request: RefundRequest) -> RefundOutcome:
    return RefundOutcome(refund_id=request.refund_id, issued=False, failure="card closed")


def captured_as_reported(query: CaptureQuery) -> CaptureAnswer:
    """The gateway confirms the second capture, of the amount reported."""
    return CaptureAnswer(
        transaction_id=query.transaction_id, event_id=query.event_id, captured=query.claimed
    )


def captured(amount: str | None) -> Callable[[CaptureQuery], CaptureAnswer]:
    """The gateway captured this much under the transaction (None: it knows no capture)."""

    def answer(query: CaptureQuery) -> CaptureAnswer:
        found = None if amount is None else Decimal(amount)
        return CaptureAnswer(
            transaction_id=query.transaction_id, event_id=query.event_id, captured=found
        )

    return answer


def merge(into: Decision, more: Decision) -> None:
    """One decision and what followed from its answers, read as one."""
    into.events += more.events
    into.opened += more.opened
    into.closed += more.closed
    into.ledger += more.ledger
    into.stock += more.stock
    into.receipts += more.receipts
    into.requests += more.requests
