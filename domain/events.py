"""The order's record (P6.1): one event per thing that happened, with its actor."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, JsonValue

from domain.actors import Actor
from domain.states import OrderStatus


class EventKind(StrEnum):
    RECEIVED = "received"
    INTAKE_PROBLEMS = "intake_problems"
    CORRECTED = "corrected"
    REVIEWED = "reviewed"
    STOCK_RESERVED = "stock_reserved"
    OUT_OF_STOCK = "out_of_stock"
    BACKORDER_RECORDED = "backorder_recorded"
    STOCK_REPLENISHED = "stock_replenished"
    PACKED = "packed"
    DISPATCHED = "dispatched"
    TRACKING = "tracking"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CLOSED = "closed"
    TASK_COMPLETED = "task_completed"
    TASK_CLAIMED = "task_claimed"
    TASK_REMINDED = "task_reminded"
    TASK_OVERDUE = "task_overdue"
    TASK_ESCALATED = "task_escalated"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    #: P5.3: some of the goods came back and were refunded; the rest stays with the customer.
    PARTLY_RETURNED = "partly_returned"
    #: P5.3: sales' claim on the supplier moved on (agreed, credited, declined).
    SUPPLIER_CLAIM_UPDATED = "supplier_claim_updated"
    ORDER_REFUNDED = "order_refunded"
    REJECTED = "rejected"
    #: P2.1: a valid order waits for its payment until a deadline.
    AWAITING_PAYMENT = "awaiting_payment"
    #: P2.1: the carrier's remittance of cash on delivery is late; finance reconciles it.
    REMITTANCE_OVERDUE = "remittance_overdue"
    PAYMENT_EVENT = "payment_event"
    PAYMENT_RECEIVED = "payment_received"
    REFUND_ISSUED = "refund_issued"
    REFUND_FAILED = "refund_failed"
    #: P5.2: compensation paid out through the gateway (or by finance), or refused by it.
    COMPENSATION_PAID = "compensation_paid"
    COMPENSATION_FAILED = "compensation_failed"
    #: P4.1: a paid order's approved change of goods costs more: the difference is asked of
    #: the customer; paid (or no longer owed), the order moves on; unpaid by the deadline,
    #: the change is undone.
    PAYMENT_REQUESTED = "payment_requested"
    BALANCE_SETTLED = "balance_settled"
    CHANGE_REVERTED = "change_reverted"
    LEDGER = "ledger"
    CASE_OPENED = "case_opened"
    CASE_DECIDED = "case_decided"
    CASE_CLOSED = "case_closed"
    RETURN_INSPECTED = "return_inspected"
    STOCK_RELEASED = "stock_released"
    STOCK_SHIPPED = "stock_shipped"
    STOCK_RETURNED = "stock_returned"
    STOCK_WRITTEN_OFF = "stock_written_off"
    CHANGE_APPLIED = "change_applied"
    LOGISTICS_CAUSE_RECORDED = "logistics_cause_recorded"
    #: A feed (tracking, payment event) the order cannot trust or that came from a
    #: department that may not send it: dropped, and recorded (up to a limit).
    FEED_REFUSED = "feed_refused"
    #: P5.1: the gateway did not confirm a reported duplicate capture: no money moved,
    #: finance verifies it.
    CAPTURE_UNCONFIRMED = "capture_unconfirmed"
    #: A feed passed the events one order records (`PolicySettings.feed_event_limit`):
    #: its events that would change nothing are dropped from now on.
    FEED_LIMIT_REACHED = "feed_limit_reached"
    #: P1.2 service orders: a visit agreed with the customer (or agreed again), the work
    #: recorded on site, the customer's confirmation (or the automatic one).
    APPOINTMENT_SCHEDULED = "appointment_scheduled"
    SERVICE_PERFORMED = "service_performed"
    SERVICE_CONFIRMED = "service_confirmed"
    #: P3.4: the carrier the system books did not book the shipment (declined, or out of
    #: reach): the order stays packed, logistics dispatches again or with another carrier.
    CARRIER_BOOKING_FAILED = "carrier_booking_failed"
    #: A message to the customer the channel could not deliver: customer service tells
    #: the customer instead (a `notify_customer` task).
    NOTICE_HANDED_OFF = "notice_handed_off"


class OrderEvent(BaseModel):
    """`seq` numbers an order's events from 1; with `order_id` it keys the read-model row."""

    model_config = ConfigDict(extra="forbid")

    seq: int
    at: datetime
    kind: EventKind
    status: OrderStatus
    actor: Actor | None = None
    note: str = ""
    task_id: str | None = None
    case_id: str | None = None
    data: dict[str, JsonValue] = {}


#: Events that ops must look at as they happen: the workers count them as alerts
#: (`oms_alerts{kind}`, workflows/metrics.py).
ALERTING = frozenset(
    {EventKind.FEED_REFUSED, EventKind.FEED_LIMIT_REACHED, EventKind.CAPTURE_UNCONFIRMED}
)
