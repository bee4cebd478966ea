"""Inventory side effects: reserve and receive stock, find waiting orders (P3.2).

Shipping and releasing what an order holds ride in the order's read-model write
(`db.order_records.apply_changes`), one transaction with the step that causes them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from db import inventory as stock
from db.engine import Database
from domain.inventory import (
    BackorderedOrders,
    InventoryLevel,
    ReceiveStock,
    Reservation,
    ReserveStock,
    SkuQuery,
)


class InventoryActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn
    def reserve_stock(self, request: ReserveStock) -> Reservation:
        """Reserve every line of an order, or nothing and say what is short."""
        try:
            with self.db.write() as conn:
                stock.reserve(
                    conn,
                    request.order_id,
                    request.reservation_key,
                    request.quantities,
                    datetime.now(UTC),
                )
        except stock.StockShort as short:
            return Reservation(
                reservation_key=request.reservation_key, reserved=False, short=short.short
            )
        return Reservation(reservation_key=request.reservation_key, reserved=True)

    @activity.defn
    def receive_stock(self, receipt: ReceiveStock) -> InventoryLevel:
        """Book a restock receipt (once per receipt id)."""
        with self.db.write() as conn:
            return stock.receive_receipt(conn, receipt, datetime.now(UTC))

    @activity.defn
    def list_backordered_orders(self, query: SkuQuery) -> BackorderedOrders:
        """Orders waiting for this sku, longest waiting first."""
        with self.db.read() as conn:
            return BackorderedOrders(
                sku=query.sku, order_ids=stock.backordered_orders(conn, query.sku)
            )

    @activity.defn
    def get_level(self, query: SkuQuery) -> InventoryLevel:
        """The sku's stock level now."""
        with self.db.read() as conn:
            current = stock.level(conn, query.sku)
        return current or InventoryLevel(sku=query.sku, on_hand=0, reserved=0)
