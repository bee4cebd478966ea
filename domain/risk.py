"""P3.1: which orders count as risky and need a phone call-back before approval."""

from __future__ import annotations

import re
from decimal import Decimal

from domain.order.details import NewOrder


def risk_reasons(order: NewOrder, threshold: Decimal) -> list[str]:
    """Why this order needs phone verification; empty when it does not.

    P3.1: "New customers and risky orders get extra verification". A new customer
    or an amount over the configured threshold is enough.
    """
    reasons = []
    if order.customer.new_customer:
        reasons.append(NEW_CUSTOMER)
    if order.total > threshold:
        reasons.append(f"amount {order.total} over {threshold}")
    return reasons


NEW_CUSTOMER = "new customer"
_AMOUNT_OVER = re.compile(r"amount (?P<amount>\S+) over (?P<threshold>\S+)")


def reason_parts(reason: str) -> tuple[str, dict[str, str]] | None:
    """A reason `risk_reasons` wrote (kept in orders and histories as English text), as its
    kind and values, for saying it in other words; None for a text it did not write."""
    if reason == NEW_CUSTOMER:
        return "new_customer", {}
    found = _AMOUNT_OVER.fullmatch(reason)
    if found:
        return "amount_over", found.groupdict()
    return None


def needs_phone_verification(order: NewOrder, threshold: Decimal) -> bool:
    return bool(risk_reasons(order, threshold))
