"""Stock as the warehouse and the API see it (P3.2), and what orders ask of it."""

from __future__ import annotations

from pydantic import BaseModel, Field, computed_field


class InventoryLevel(BaseModel):
    sku: str
    name: str = ""
    on_hand: int
    reserved: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


# --- what orders and the warehouse ask of the inventory (activity inputs and results) --------


class ReserveStock(BaseModel):
    """P3.2: hold every line of an order, or nothing."""

    order_id: str
    #: Deterministic per attempt (`<order>:R<n>`), so a retried activity reserves once.
    reservation_key: str
    quantities: dict[str, int]


class Reservation(BaseModel):
    reservation_key: str
    reserved: bool
    #: Units missing per sku when not reserved (P3.2 "out of stock").
    short: dict[str, int] = {}


class ReceiveStock(BaseModel):
    """Goods into the warehouse: a restock receipt, or returned goods booked back (P5.3)."""

    receipt_id: str
    sku: str
    quantity: int = Field(ge=1)
    note: str = ""
    actor_id: str


class SkuQuery(BaseModel):
    sku: str


class BackorderedOrders(BaseModel):
    sku: str
    order_ids: list[str]
