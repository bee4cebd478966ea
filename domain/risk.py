"""P3.1: which orders count as risky and need a phone call-back before approval."""

from __future__ import annotations

from decimal import Decimal

from domain.order import NewOrder


def risk_reasons(order: NewOrder, threshold: Decimal) -> list[str]:
    """Why this order needs phone verification; empty when it does not.

    P3.1: "New customers and risky orders get extra verification". A new customer
    or an amount over the configured threshold is enough.
    """
    reasons = []
    if order.customer.new_customer:
        reasons.append("new customer")
    if order.total > threshold:
        reasons.append(f"amount {order.total} over {threshold}")
    return reasons


def needs_phone_verification(order: NewOrder, threshold: Decimal) -> bool:
    return bool(risk_reasons(order, threshold))
