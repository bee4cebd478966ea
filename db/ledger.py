"""The ledger of money movements: idempotent bookings and the refund invariant (P4.2, P5)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from db.tables import ledger_entries, orders
from db.upsert import insert_ignore
from domain.ledger import LedgerEntry
from domain.order.details import PaymentMethod


def entry_row(entry: LedgerEntry) -> dict[str, Any]:
    row = entry.model_dump(mode="python")
    row["kind"] = entry.kind.value
    return row


def book(conn: Connection, entries: list[LedgerEntry]) -> int:
    """Book movements; one already booked under its entry id is left as it is."""
    return insert_ignore(conn, ledger_entries, [entry_row(e) for e in entries])


class HowPaid(NamedTuple):
    """What a payout is checked against besides the ledger (activities/payments.py)."""

    method: PaymentMethod
    delivered: bool
    total: Decimal


def how_paid(conn: Connection, order_id: str) -> HowPaid | None:
    """How the order is paid, whether it was delivered, and its total; None for an order
    the read model does not know."""
    row = conn.execute(
        select(orders.c.payment_method, orders.c.delivered_at, orders.c.total_amount).where(
            orders.c.order_id == order_id
        )
    ).first()
    if row is None:
        return None
    return HowPaid(
        PaymentMethod(row.payment_method), row.delivered_at is not None, row.total_amount
    )


def lock_order(conn: Connection, order_id: str) -> None:
    """Serialise money movements of one order (PostgreSQL row lock; SQLite locks on write)."""
    conn.execute(select(orders.c.order_id).where(orders.c.order_id == order_id).with_for_update())


def entries_of(conn: Connection, order_id: str) -> list[LedgerEntry]:
    rows = conn.execute(
        select(ledger_entries)
        .where(ledger_entries.c.order_id == order_id)
        .order_by(ledger_entries.c.at, ledger_entries.c.entry_id)
    ).mappings()
    return [LedgerEntry.model_validate(dict(r)) for r in rows]
