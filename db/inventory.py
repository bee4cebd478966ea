"""Stock: reservations that cannot oversell, and the movements that follow them (P3.2, P3.4).

A reservation is one conditional UPDATE per sku
(`reserved = reserved + q WHERE on_hand - reserved >= q`): on PostgreSQL the row
lock taken by the UPDATE makes concurrent orders queue on the row and re-check
the condition, so no read-then-write race can let two orders take the last
unit; on SQLite the write transaction holds the database lock. A table CHECK
(`reserved <= on_hand`) refuses an oversell whatever the code above does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from db.tables import inventory, inventory_receipts, order_lines, orders, reservations
from db.upsert import insert_ignore
from domain.inventory import InventoryLevel, ReceiveStock


class StockShort(Exception):
    """Raised inside the transaction so that partial reservations roll back."""

    def __init__(self, short: dict[str, int]) -> None:
        super().__init__(f"short: {short}")
        self.short = short


def level(conn: Connection, sku: str) -> InventoryLevel | None:
    row = conn.execute(select(inventory).where(inventory.c.sku == sku)).mappings().first()
    if row is None:
        return None
    return InventoryLevel(
        sku=row["sku"], name=row["name"], on_hand=row["on_hand"], reserved=row["reserved"]
    )


def reserve(
    conn: Connection, order_id: str, key: str, quantities: dict[str, int], now: datetime
) -> None:
    """Reserve every sku of `quantities` or none (raises StockShort, which rolls back)."""
    held = conn.execute(
        select(reservations.c.sku).where(reservations.c.reservation_key == key)
    ).first()
    if held is not None:
        return  # this attempt already reserved: a retried activity
    short: dict[str, int] = {}
    # Sorted, so that two orders for the same skus lock rows in the same order (no deadlock).
    for sku, quantity in sorted(quantities.items()):
        result = conn.execute(
            update(inventory)
            .where(inventory.c.sku == sku, inventory.c.on_hand - inventory.c.reserved >= quantity)
            .values(reserved=inventory.c.reserved + quantity, updated_at=now)
        )
        if result.rowcount == 0:
            current = level(conn, sku)
            available = current.available if current else 0
            short[sku] = quantity - max(available, 0)
    if short:
        raise StockShort(short)
    conn.execute(
        reservations.insert(),
        [
            {
                "reservation_key": key,
                "sku": sku,
                "order_id": order_id,
                "quantity": quantity,
                "state": "reserved",
                "created_at": now,
                "updated_at": now,
            }
            for sku, quantity in sorted(quantities.items())
        ],
    )


def _settle(conn: Connection, key: str, new_state: str, now: datetime) -> dict[str, int]:
    rows = conn.execute(
        select(reservations.c.sku, reservations.c.quantity)
        .where(reservations.c.reservation_key == key, reservations.c.state == "reserved")
        .order_by(reservations.c.sku)
        .with_for_update()
    ).all()
    moved: dict[str, int] = {}
    for sku, quantity in rows:
        values = {"reserved": inventory.c.reserved - quantity, "updated_at": now}
        if new_state == "shipped":
            values["on_hand"] = inventory.c.on_hand - quantity
        conn.execute(update(inventory).where(inventory.c.sku == sku).values(**values))
        moved[sku] = quantity
    conn.execute(
        update(reservations)
        .where(reservations.c.reservation_key == key, reservations.c.state == "reserved")
        .values(state=new_state, updated_at=now)
    )
    return moved


def release(conn: Connection, key: str, now: datetime) -> dict[str, int]:
    """Give reserved units back (cancellation, a change of goods). Idempotent."""
    return _settle(conn, key, "released", now)


def ship(conn: Connection, key: str, now: datetime) -> dict[str, int]:
    """Units leave the warehouse at dispatch: on hand and reserved both go down. Idempotent."""
    return _settle(conn, key, "shipped", now)


def _ensure_row(conn: Connection, sku: str, now: datetime, name: str | None = None) -> None:
    insert_ignore(
        conn,
        inventory,
        [{"sku": sku, "name": name or "", "on_hand": 0, "reserved": 0, "updated_at": now}],
    )


def receive_receipt(conn: Connection, receipt: ReceiveStock, now: datetime) -> InventoryLevel:
    """Book a receipt as the warehouse or a return hands it over (once per receipt id)."""
    return receive(
        conn,
        receipt.receipt_id,
        receipt.sku,
        receipt.quantity,
        receipt.note,
        receipt.actor_id,
        now,
    )


def receive(
    conn: Connection,
    receipt_id: str,
    sku: str,
    quantity: int,
    note: str,
    actor_id: str,
    now: datetime,
) -> InventoryLevel:
    """Book a restock receipt once, however often it is sent."""
    _ensure_row(conn, sku, now)
    new = insert_ignore(
        conn,
        inventory_receipts,
        [
            {
                "receipt_id": receipt_id,
                "sku": sku,
                "quantity": quantity,
                "note": note,
                "actor_id": actor_id,
                "at": now,
            }
        ],
    )
    if new:
        conn.execute(
            update(inventory)
            .where(inventory.c.sku == sku)
            .values(on_hand=inventory.c.on_hand + quantity, updated_at=now)
        )
    current = level(conn, sku)
    assert current is not None
    return current


def set_on_hand(
    conn: Connection, sku: str, on_hand: int, now: datetime, name: str | None = None
) -> InventoryLevel:
    """A stock count: set what is physically on hand. Below what is reserved is refused."""
    _ensure_row(conn, sku, now, name)
    values: dict[str, object] = {"on_hand": on_hand, "updated_at": now}
    if name is not None:
        values["name"] = name
    conn.execute(update(inventory).where(inventory.c.sku == sku).values(**values))
    current = level(conn, sku)
    assert current is not None
    return current


def backordered_orders(conn: Connection, sku: str) -> list[str]:
    """Orders waiting for this sku, longest waiting first (P3.2 restock resumes them)."""
    rows = conn.execute(
        select(orders.c.order_id, orders.c.updated_at)
        .join(order_lines, order_lines.c.order_id == orders.c.order_id)
        .where(order_lines.c.sku == sku, orders.c.status == "out_of_stock")
        .order_by(orders.c.updated_at, orders.c.order_id)
        .distinct()
    ).all()
    return [row[0] for row in rows]
