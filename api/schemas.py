"""Response bodies of the API (`XPublic`); request bodies are the domain's `XRequest` models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain.actors import Department
from domain.carriers import Handover
from domain.cases import Case
from domain.events import OrderEvent
from domain.intake import IntakeProblem
from domain.ledger import LedgerEntry, Refund
from domain.money import Sum
from domain.order.details import OrderItem, OrderKind, Payment
from domain.personal_data import (
    address_for,
    customer_for,
    masked_fields,
    may_decode,
    shipping_for,
)
from domain.review_checklist import Finding
from domain.states import OrderStatus
from domain.view import Backorder, OrderView, ServiceVisit, Shipment


class OrderCreated(BaseModel):
    order_id: str
    status: OrderStatus


class LeadPublic(BaseModel):
    """A lead of a department: its breached tasks are escalated to them (P8.1)."""

    staff_id: str
    name: str


class TaskPublic(BaseModel):
    task_id: str
    order_id: str | None
    department: Department
    kind: str
    state: str
    opened_at: datetime
    due_at: datetime
    overdue: bool
    reminded: bool = False
    escalated: bool = False
    assignee: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    outcome: str | None = None
    summary: str = ""
    #: The summary by name and values, for a client that says it in its own words.
    summary_code: str | None = None
    summary_params: dict[str, Any] = {}
    case_id: str | None = None
    order_status: str | None = None
    order_total: Sum | None = None
    order_customer_id: str | None = None
    #: An escalated task: the department's active leads it went to, by name (P8.1; read
    #: from the staff table when shown, api/routes/escalations.py). None when not escalated.
    leads: list[LeadPublic] | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TaskPublic:
        data = {k: v for k, v in row.items() if k in cls.model_fields}
        data["summary_params"] = data.get("summary_params") or {}
        return cls.model_validate(data)


class EventPublic(BaseModel):
    seq: int
    at: datetime
    kind: str
    status: str
    actor_id: str | None
    actor_department: str | None
    note: str
    task_id: str | None = None
    case_id: str | None = None
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EventPublic:
        return cls.model_validate({k: v for k, v in row.items() if k in cls.model_fields})

    @classmethod
    def from_event(cls, event: OrderEvent) -> EventPublic:
        return cls(
            seq=event.seq,
            at=event.at,
            kind=event.kind.value,
            status=event.status.value,
            actor_id=event.actor.staff_id if event.actor else None,
            actor_department=event.actor.department.value if event.actor else None,
            note=event.note,
            task_id=event.task_id,
            case_id=event.case_id,
            data=event.data,
        )


class CustomerPublic(BaseModel):
    """The customer as the caller's department may see them (domain/personal_data.py)."""

    id: str
    name: str | None = None
    #: In full for sales, customer service and logistics; `138****8000` for the others.
    phone: str | None = None
    new_customer: bool = False
    #: In full where the phone is; `l***@example.com` for the others.
    email: str | None = None
    #: The language the customer is written to in (`zh`, `en`).
    language: str = "zh"


class ShippingPublic(BaseModel):
    """Where the order goes, as the caller's department may see it (domain/personal_data.py)."""

    #: In full for customer service and logistics; `***` for the others.
    address: str | None = None
    contact_name: str | None = None
    #: In full for sales, customer service and logistics; `138****8000` for the others.
    contact_phone: str | None = None
    #: P3.4: how the customer wishes the parcel to reach the carrier, if they said.
    handover: Handover | None = None


class OrderPublic(BaseModel):
    order_id: str
    status: OrderStatus
    kind: OrderKind
    customer: CustomerPublic
    items: list[OrderItem]
    shipping: ShippingPublic
    payment: Payment
    total: Sum
    paid_amount: Sum
    refunded_amount: Sum
    balance_due: Sum
    cases: list[Case]
    refunds: list[Refund]
    ledger: list[LedgerEntry]
    shipments: list[Shipment]
    #: A service order's visits, the current one last (P1.2); an address given for a visit
    #: is masked as the shipping address is.
    service_visits: list[ServiceVisit] = []
    risky: bool
    risk_reasons: list[str]
    #: P3.1: what the review's checklist found for each point (customer qualification,
    #: legality, price accuracy), and whether the reviewer must answer it.
    review_findings: list[Finding] = []
    phone_verified: bool
    intake_problems: list[IntakeProblem]
    backorder: Backorder | None
    shipment: Shipment | None
    pending_departments: list[Department]
    overdue: bool
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    open_tasks: list[TaskPublic]
    events: list[EventPublic]
    #: "workflow" when read live from the running order, "read_model" otherwise.
    source: str
    #: The order's workflow in the Temporal UI: only for the departments that may read
    #: histories decrypted (supervision, admin); null for the others.
    temporal_ui_url: str | None
    #: The fields masked for the caller's department (`customer.phone`, `shipping.address`...).
    masked_fields: list[str] = []

    @classmethod
    def build(
        cls,
        view: OrderView,
        events: list[dict[str, Any]],
        *,
        source: str,
        ui_url: str,
        department: Department,
    ) -> OrderPublic:
        """The order as this department may see it: phones and addresses masked at the source."""
        order = view.order
        customer = customer_for(department, order.customer)
        shipping = shipping_for(department, order.shipping)
        return cls(
            order_id=order.order_id,
            status=view.status,
            kind=order.kind,
            customer=CustomerPublic.model_validate(customer.model_dump()),
            items=order.items,
            shipping=ShippingPublic.model_validate(shipping.model_dump()),
            payment=order.payment,
            total=view.total,
            paid_amount=view.paid_amount,
            refunded_amount=view.refunded_amount,
            balance_due=view.balance_due,
            cases=view.cases,
            refunds=view.refunds,
            ledger=view.ledger,
            shipments=view.shipments,
            service_visits=[
                visit.model_copy(update={"address": address_for(department, visit.address)})
                for visit in view.service_visits
            ],
            risky=bool(view.risk_reasons),
            risk_reasons=view.risk_reasons,
            review_findings=view.review_findings,
            phone_verified=view.phone_verified,
            intake_problems=view.intake_problems,
            backorder=view.backorder,
            shipment=view.shipment,
            pending_departments=view.pending_departments,
            overdue=view.overdue,
            created_at=view.created_at,
            updated_at=view.updated_at,
            closed_at=view.closed_at,
            open_tasks=[TaskPublic.model_validate(t.model_dump()) for t in view.open_tasks],
            events=merged_events(events, view.unwritten_events),
            source=source,
            temporal_ui_url=ui_url if may_decode(department) else None,
            masked_fields=masked_fields(department),
        )


def merged_events(rows: list[dict[str, Any]], unwritten: list[OrderEvent]) -> list[EventPublic]:
    """The read model's events, completed by those the live order recorded but not yet wrote."""
    merged = {row["seq"]: EventPublic.from_row(row) for row in rows}
    for event in unwritten:
        merged.setdefault(event.seq, EventPublic.from_event(event))
    return [merged[seq] for seq in sorted(merged)]


class OrderSummary(BaseModel):
    order_id: str
    status: OrderStatus
    kind: OrderKind
    customer_id: str
    total_amount: Sum
    paid_amount: Sum
    refunded_amount: Sum
    payment_status: str
    pending_departments: list[str]
    overdue: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> OrderSummary:
        data = dict(row)
        pending = data.get("pending_departments") or ""
        data["pending_departments"] = [d for d in pending.split(",") if d]
        return cls.model_validate(data)


class OrderList(BaseModel):
    items: list[OrderSummary]
    next_cursor: str | None


class TaskList(BaseModel):
    items: list[TaskPublic]
    next_cursor: str | None


class InventoryPublic(BaseModel):
    sku: str
    name: str
    on_hand: int
    reserved: int
    available: int


class RestockPublic(InventoryPublic):
    receipt_id: str
    resumed_orders: list[str]


class Health(BaseModel):
    status: str
    temporal: str
    database: str
    checks_ms: dict[str, float]


class FieldError(BaseModel):
    """One thing wrong with a request (a 422's `errors`)."""

    #: Where: a body field as a dotted path (`items.0.sku`), a parameter's name, or `body`.
    field: str
    message: str
    #: The kind of error (`missing`, `string_too_long`, `enum`...), for a client's own words.
    type: str | None = None


class ErrorBody(BaseModel):
    """Every answer that is not a success (api/errors.py): a sentence, and what names it.

    401, 403, 404, 413, 429 and 503 carry `detail` (429 adds `retry_after`, seconds, as does
    its Retry-After header); a 409 (a refusal) adds the order's current `status` and, when
    the refusal has a code, `refusal` and `refusal_params`, so that a client can say it in
    its own words; a 422 names the `field` at fault and, for a malformed request, every one
    in `errors`.
    """

    detail: str
    #: 409: where the order (or the case) stands now; null when the refusal is not about it.
    status: str | None = None
    #: 422: the field at fault (`body` when it is the body as a whole).
    field: str | None = None
    #: 422 of a malformed request: every field at fault, the first being `field`.
    errors: list[FieldError] | None = None
    #: 403/409: the refusal's code (`action_not_now`, `not_dispatched`...).
    refusal: str | None = None
    #: What the refusal's reason is made of (`{"action": "pack", "status": "under_review"}`).
    refusal_params: dict[str, Any] | None = None
    #: 429: seconds until a request would be admitted.
    retry_after: float | None = None


class Accepted(BaseModel):
    """202: an event was handed to the order (a repeated `event_id` is accepted and ignored)."""

    order_id: str
    event_id: str
    accepted: bool
