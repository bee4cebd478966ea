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
    ORDER_REFUNDED = "order_refunded"
    REJECTED = "rejected"
    PAYMENT_EVENT = "payment_event"
    PAYMENT_RECEIVED = "payment_received"
    REFUND_ISSUED = "refund_issued"
    REFUND_FAILED = "refund_failed"
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
