"""The order's state: everything the policy decides on, as one model.

Serialisable as a whole, so that an order can carry on in a new workflow run
(continue-as-new) and a test can build an order in any state.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from domain.actors import Actor
from domain.cases import Case
from domain.catalogue import Product
from domain.commands import ChangeCommand, DispatchCommand, PaymentEventCommand
from domain.intake import IntakeProblem
from domain.ledger import LedgerEntry, Refund
from domain.money import ZERO, Money
from domain.order.details import NewOrder, OrderItem
from domain.policy import PolicySettings
from domain.review_checklist import CustomerStanding, Finding
from domain.states import OrderStatus
from domain.task_book import TaskBook
from domain.trust import NonceBook
from domain.view import Backorder, ServiceVisit, Shipment


class AwaitingCapture(BaseModel):
    """P5.1: a reported duplicate payment, until the gateway confirms the capture."""

    case_id: str
    command: PaymentEventCommand


class ChangePayment(BaseModel):
    """P4.1: what a dearer change of goods costs a paid order, asked of the customer."""

    #: The change case that made the order dearer (the last one, if several did).
    case_id: str
    amount: Money
    requested_at: datetime
    #: Unpaid at this time (`payment_deadline` after the approval), the change is undone.
    due_at: datetime
    #: The goods last paid for in full: what stands again if the change is undone.
    paid_items: list[OrderItem]


class OrderState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order: NewOrder
    #: The policy in force when the order arrived; kept for the order's whole life.
    policy: PolicySettings
    submitted_by: Actor
    #: Hash of the creating request (POST /orders is idempotent on order id and body).
    fingerprint: str
    status: OrderStatus = OrderStatus.RECEIVED
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    #: The main line has ended (a final status, or the after-sales window is over):
    #: only follow-ups remain, no new course may start.
    closing: bool = False
    #: The order's last event is recorded: nothing more will happen to it.
    closed: bool = False
    #: The last event's number, and the number of the read model's last write.
    seq: int = 0
    revision: int = 0

    # P2.2 intake, P3.1 review
    #: The catalogue's products the order names, as the API read them when it handed the
    #: order (or a correction, or an approved change) over: what price accuracy (P3.1),
    #: legality and the package's accessories (P3.3) are checked against.
    products: dict[str, Product] = {}
    #: What the read model knew of the customer at hand-over, and what the review found
    #: for each point of its checklist when the order went to review (P3.1).
    customer_standing: CustomerStanding = CustomerStanding()
    review_findings: list[Finding] = []
    problems: list[IntakeProblem] = []
    risk_reasons: list[str] = []
    phone_verified: bool = False
    #: What the payment system reported paid at intake (a correction books the difference).
    intake_paid: Decimal = ZERO
    #: P5.1: an unpaid order whose payment failed is cancelled at this time.
    unpaid_deadline: datetime | None = None
    #: P2.1: cash on delivery is settled by the carrier's remittance after delivery; until
    #: it arrives (or finance reconciles it by hand) the order does not complete.
    awaiting_remittance: bool = False
    #: When a remittance still missing is late: finance gets a reconciliation task.
    remittance_due: datetime | None = None
    #: P4.1: the difference a dearer change of goods costs, until it is paid (the warehouse
    #: does not pack before) or the change is undone.
    change_payment: ChangePayment | None = None

    # P3.2 stock: reservations are numbered per order (`<order>:R<n>`).
    backorder: Backorder | None = None
    reservations: int = 0
    #: The reservation asked of the inventory and not yet answered.
    reserving: str | None = None
    #: The reservation the order holds, and what it holds.
    reservation_key: str | None = None
    reserved: dict[str, int] = {}

    # P3.3-P3.4 and P5.3: shipments, the current one last.
    packages: int = 0
    shipments: list[Shipment] = []
    #: P3.4: bookings asked of carriers so far (they number the booking ids), and the
    #: dispatch waiting for the carrier's answer.
    bookings: int = 0
    dispatching: DispatchCommand | None = None
    #: Who reported the current shipment delivered.
    delivered_by: Actor | None = None
    #: P5.3: the return and exchange windows after the last delivery are over.
    window_closed: bool = False
    #: P5.3: units returned with a confirmed quality problem so far, by sku.
    returned: dict[str, int] = {}

    # P1.2 service orders: the visits, the current one last; the work done, the customer's
    # confirmation is awaited until this time, then given automatically.
    visits: list[ServiceVisit] = []
    confirmation_due: datetime | None = None

    # Feeds are deduplicated by their event ids.
    tracking_seen: set[str] = set()
    #: Messages to the customer written to the outbox and handed to the channel, not yet
    #: answered (domain/notices.py): the order does not close before they are.
    sending: list[str] = []
    payment_events_seen: set[str] = set()
    #: Feeds dropped because they could not be trusted (domain/trust.py) or came from the
    #: wrong department; only the first few are recorded as events.
    feeds_refused: int = 0
    #: Feed events dropped past the policy's `feed_event_limit`, by feed.
    feeds_over_limit: dict[str, int] = {}
    #: The signed commands accepted within the trust window (replays are refused).
    nonces: NonceBook = NonceBook()

    tasks: TaskBook
    cases: dict[str, Case] = {}
    #: P4.1: what each open change request asks for, until it is decided.
    proposals: dict[str, ChangeCommand] = {}
    ledger: list[LedgerEntry] = []
    refunds: dict[str, Refund] = {}
    #: The finance task that completes each refund the gateway refused.
    refund_tasks: dict[str, str] = {}
    #: Duplicate payments reported and not yet confirmed by the gateway, by event id.
    awaiting_capture: dict[str, AwaitingCapture] = {}

    @property
    def order_id(self) -> str:
        return self.order.order_id

    @property
    def shipment(self) -> Shipment | None:
        return self.shipments[-1] if self.shipments else None

    @property
    def visit(self) -> ServiceVisit | None:
        return self.visits[-1] if self.visits else None
