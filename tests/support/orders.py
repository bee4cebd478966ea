"""Order bodies for tests, built like the platform sends them (api.md)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any


def new_order_id(prefix: str = "T") -> str:
    return f"{prefix}{uuid.uuid4().hex[:14].upper()}"


def order_body(
    order_id: str | None = None,
    *,
    lines: list[tuple[str, int, str]] | None = None,
    paid: bool = True,
    new_customer: bool = False,
    customer_id: str = "C1001",
    kind: str = "goods",
    amount: str | None = None,
    name: str | None = "Li Lei",
    phone: str | None = "13800138000",
    address: str | None = "1 Chaoyang Rd, Beijing",
) -> dict[str, Any]:
    lines = lines or [("SKU-1", 2, "129.00")]
    total = sum((Decimal(price) * qty for _, qty, price in lines), Decimal("0.00"))
    return {
        "order_id": order_id or new_order_id(),
        "kind": kind,
        "customer": {"id": customer_id, "name": name, "phone": phone, "new_customer": new_customer},
        "items": [
            {"sku": sku, "name": sku.lower(), "quantity": qty, "unit_price": price}
            for sku, qty, price in lines
        ],
        "shipping": {"address": address, "contact_name": name, "contact_phone": phone},
        "payment": {
            "method": "online" if paid else "cash_on_delivery",
            "status": "paid" if paid else "unpaid",
            "amount": amount or f"{total:.2f}",
            "transaction_id": "TX-" + uuid.uuid4().hex[:8] if paid else None,
        },
    }
