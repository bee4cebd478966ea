"""Writing an order's state into the read model: one transaction per workflow step.

Every write is an upsert keyed by the business key, so an activity that runs
twice (they run at least once) leaves the same rows as one that ran once:
orders by `order_id` (only a newer `revision` overwrites), events by
`(order_id, seq)` (never rewritten), tasks by `task_id` (only a newer `revision`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete

from db import inventory, ledger, notifications
from db.tables import cases, order_events, order_lines, orders, tasks
from db.upsert import insert_ignore, upsert
from domain.cases import Case
from domain.events import OrderEvent
from domain.order.writes import OrderChanges
from domain.tasks import Task
from domain.view import OrderView


def order_row(view: OrderView, revision: int) -> dict[str, Any]:
    order = view.order
    shipment = view.shipment
    return {
        "order_id": order.order_id,
        "kind": order.kind.value,
        "status": view.status.value,
        "customer_id": order.customer.id,
        "customer_name": order.customer.name,
        "customer_phone": order.customer.phone,
        "new_customer": order.customer.new_customer,
        "risky": bool(view.risk_reasons),
        "shipping_address": order.shipping.address,
        "contact_name": order.shipping.contact_name,
        "contact_phone": order.shipping.contact_phone,
        "payment_method": order.payment.method.value,
        "payment_status": order.payment.status.value,
        "transaction_id": order.payment.transaction_id,
        "total_amount": view.total,
        "paid_amount": view.paid_amount,
        "refunded_amount": view.refunded_amount,
        "pending_departments": ",".join(view.pending_departments),
        "overdue": view.overdue,
        "carrier": shipment.carrier if shipment else None,
        "tracking_number": shipment.tracking_number if shipment else None,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "dispatched_at": shipment.dispatched_at if shipment else None,
        "promised_delivery_at": shipment.promised_by if shipment else None,
        "delivered_at": shipment.delivered_at if shipment else None,
        "closed_at": view.closed_at,
        "intake_fingerprint": view.intake_fingerprint,
        "last_seq": view.last_seq,
        "revision": revision,
        "snapshot": view.model_dump(mode="json"),
    }


def event_row(order_id: str, event: OrderEvent) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "seq": event.seq,
        "at": event.at,
        "kind": event.kind.value,
        "status": event.status.value,
        "actor_id": event.actor.staff_id if event.actor else None,
        "actor_department": event.actor.department.value if event.actor else None,
        "note": event.note,
        "task_id": event.task_id,
        "case_id": event.case_id,
        "data": event.data,
    }


def task_row(task: Task) -> dict[str, Any]:
    row = task.model_dump(mode="python")
    row["kind"] = task.kind.value
    row["department"] = task.department.value
    row["state"] = task.state.value
    return row


def case_row(case: Case) -> dict[str, Any]:
    row = case.model_dump(mode="python")
    row["kind"] = case.kind.value
    row["state"] = case.state.value
    return row


def apply_changes(conn: Connection, changes: OrderChanges, now: datetime | None = None) -> None:
    view = changes.view
    order_id = view.order.order_id
    for step in changes.stock:  # idempotent per reservation key: a retry moves nothing twice
        move = inventory.ship if step.action == "ship" else inventory.release
        move(conn, step.reservation_key, now or datetime.now(UTC))
    for receipt in changes.receipts:  # returned goods (P5.3); idempotent per receipt id
        inventory.receive_receipt(conn, receipt, now or datetime.now(UTC))
    newer = upsert(
        conn, orders, order_row(view, changes.revision), keys=["order_id"], newer_than="revision"
    )
    if changes.lines_changed and newer:
        conn.execute(delete(order_lines).where(order_lines.c.order_id == order_id))
        conn.execute(
            order_lines.insert(),
            [
                {
                    "order_id": order_id,
                    "line_no": n,
                    "sku": line.sku,
                    "name": line.name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                }
                for n, line in enumerate(view.order.items, start=1)
            ],
        )
    insert_ignore(conn, order_events, [event_row(order_id, e) for e in changes.events])
    # The outbox: the customer's messages in the same transaction as their events.
    notifications.record(conn, changes.notices, now or datetime.now(UTC))
    for task in changes.tasks:
        upsert(conn, tasks, task_row(task), keys=["task_id"], newer_than="revision")
    for case in changes.cases:
        upsert(conn, cases, case_row(case), keys=["case_id"], newer_than="revision")
    ledger.book(conn, changes.ledger)
