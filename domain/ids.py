"""Business keys: every workflow id comes from one of these functions (rule 1)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def order_id_from_workflow_id(workflow_id: str) -> str | None:
    return workflow_id.removeprefix("order-") if workflow_id.startswith("order-") else None


def restock_workflow_id(sku: str, receipt_id: str) -> str:
    return f"restock-{sku}-{receipt_id}"


def fingerprint(payload: Any) -> str:
    """A stable hash of a request body: the same body always gives the same fingerprint."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
