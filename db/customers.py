"""What the read model knows of a customer for the review (P3.1 customer qualification):
the blocked list, and the customer's earlier orders and those never paid."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, delete, func, select

from db.customer_tables import customer_blocks
from db.tables import orders
from db.upsert import upsert
from domain.order.details import PaymentMethod, PaymentStatus
from domain.review_checklist import CustomerStanding
from domain.states import OrderStatus


def standing(conn: Connection, customer_id: str) -> CustomerStanding:
    """The customer as the review sees them when an order of theirs arrives."""
    block = conn.execute(
        select(customer_blocks.c.reason).where(customer_blocks.c.customer_id == customer_id)
    ).first()
    # An order cancelled unpaid that was to be paid before shipment: the customer never paid
    # (P2.1). A cash-on-delivery order cancelled before it shipped owed nothing yet.
    never_paid = and_(
        orders.c.status == OrderStatus.CANCELLED.value,
        orders.c.payment_status == PaymentStatus.UNPAID.value,
        orders.c.paid_amount == 0,
        orders.c.payment_method != PaymentMethod.CASH_ON_DELIVERY.value,
    )
    counts = conn.execute(
        select(func.count(), func.count().filter(never_paid)).where(
            orders.c.customer_id == customer_id
        )
    ).one()
    return CustomerStanding(
        blocked=block is not None,
        blocked_reason=None if block is None else block.reason,
        earlier_orders=counts[0],
        unpaid_orders=counts[1],
    )


def block(conn: Connection, customer_id: str, reason: str, by: str, now: datetime) -> None:
    row = {"customer_id": customer_id, "reason": reason, "blocked_by": by, "blocked_at": now}
    upsert(conn, customer_blocks, row, keys=("customer_id",))


def unblock(conn: Connection, customer_id: str) -> bool:
    """True when the customer was on the list."""
    gone = conn.execute(delete(customer_blocks).where(customer_blocks.c.customer_id == customer_id))
    return bool(gone.rowcount)
