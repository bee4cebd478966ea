"""Stock levels as the warehouse and the API see them (P3.2)."""

from __future__ import annotations

from pydantic import BaseModel, computed_field


class InventoryLevel(BaseModel):
    sku: str
    name: str = ""
    on_hand: int
    reserved: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def available(self) -> int:
        return self.on_hand - self.reserved
