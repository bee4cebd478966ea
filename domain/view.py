"""The order as people see it: what the workflow's query returns and the read model mirrors."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from domain.actors import Department
from domain.carriers import Handover
from domain.cases import Case
from domain.commands import DeliveryMethod
from domain.events import OrderEvent
from domain.intake import IntakeProblem
from domain.ledger import LedgerEntry, Refund
from domain.money import Sum
from domain.order.details import NewOrder
from domain.review_checklist import Finding
from domain.states import OrderStatus
from domain.tasks import Task


class Backorder(BaseModel):
    """P3.2: what is short, and the warehouse's reason and restock ETA once recorded."""

    short: dict[str, int]
    reason: str | None = None
    restock_eta: datetime | None = None


class Shipment(BaseModel):
    carrier: str
    method: DeliveryMethod
    tracking_number: str
    packages: int
    dispatched_at: datetime
    promised_by: datetime
    delivered_at: datetime | None = None
    #: P3.4: how the parcel reached the carrier, and why (the rule's reason, or the one
    #: logistics gave for overriding it); whether the system booked it with the carrier.
    handover: Handover | None = None
    handover_reason: str = ""
    booked: bool = False
    #: The carrier's last scan: its event, where and when (the Temporal UI's details).
    last_scan: str | None = None


class ServiceVisit(BaseModel):
    """P1.2: one visit of a service order: agreed with the customer, then done and recorded on
    site, then confirmed. A complaint's rework is a visit of its own."""

    window_start: datetime
    window_end: datetime
    technician: str
    #: Where the visit goes when it is not the order's shipping address (personal data:
    #: masked like the shipping address, domain/personal_data.py).
    address: str | None = None
    scheduled_at: datetime
    #: The visit answers a complaint about the work (a rework, P5.3).
    rework: bool = False
    #: The work as recorded on site.
    done_at: datetime | None = None
    done_by: str | None = None
    work: str | None = None
    recorded_at: datetime | None = None
    #: The customer's confirmation; `confirmed_automatically` when none came in time.
    confirmed_at: datetime | None = None
    confirmed_automatically: bool = False


class OrderView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order: NewOrder
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    risk_reasons: list[str] = []
    #: P3.1: what the review's checklist found, point by point (domain/review_checklist.py).
    review_findings: list[Finding] = []
    phone_verified: bool = False
    intake_problems: list[IntakeProblem] = []
    backorder: Backorder | None = None
    shipment: Shipment | None = None
    total: Sum
    paid_amount: Sum
    refunded_amount: Sum = Decimal("0.00")
    #: What the customer still owes after a change raised the total (P4.1).
    balance_due: Sum = Decimal("0.00")
    cases: list[Case] = []
    refunds: list[Refund] = []
    ledger: list[LedgerEntry] = []
    #: Every shipment, the current one last (a reshipment or an exchange adds one).
    shipments: list[Shipment] = []
    #: A service order's visits, the current one last (P1.2).
    service_visits: list[ServiceVisit] = []
    open_tasks: list[Task] = []
    pending_departments: list[Department] = []
    overdue: bool = False
    intake_fingerprint: str
    last_seq: int
    #: Events recorded but not yet confirmed in the read model (only in the live query):
    #: with them, the live view and the record it shows never disagree.
    unwritten_events: list[OrderEvent] = []

    @property
    def order_id(self) -> str:
        return self.order.order_id
