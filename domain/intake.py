"""P2.2 intake validation: is the handed-over order complete and consistent?

A malformed body never gets this far (the API refuses it with 422). What is
checked here is business data that a person can put right: the order goes to
`needs_correction` and the department that owns the faulty data gets a task.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from domain.actors import Department
from domain.catalogue import Product, line_problems
from domain.order.details import NewOrder, PaymentStatus


class IntakeProblem(BaseModel):
    """One thing wrong with the order. `message` never repeats the personal data itself."""

    model_config = ConfigDict(frozen=True)

    field: str
    message: str
    department: Department


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def validate_intake(order: NewOrder, products: Mapping[str, Product]) -> list[IntakeProblem]:
    """Every problem with the order's data, price problems first (they go to sales)."""
    sales, service = Department.SALES, Department.CUSTOMER_SERVICE
    problems: list[IntakeProblem] = []

    # P3.1 price accuracy: sales keeps the catalogue's listings and prices, so an unknown
    # product or a price below its floor is theirs to put right (not a backorder).
    problems += [
        IntakeProblem(field=p.field, message=p.message, department=sales)
        for p in line_problems(order.kind, order.items, products)
    ]

    # Price accuracy belongs to sales (P3.1 checks it again at review).
    if order.payment.amount != order.total:
        problems.append(
            IntakeProblem(
                field="payment.amount",
                message=f"amount {order.payment.amount} is not the lines' total {order.total}",
                department=sales,
            )
        )
    skus = [line.sku for line in order.items]
    if len(set(skus)) != len(skus):
        problems.append(
            IntakeProblem(
                field="items", message="the same sku appears on several lines", department=sales
            )
        )
    if order.payment.status is PaymentStatus.PAID and _blank(order.payment.transaction_id):
        problems.append(
            IntakeProblem(
                field="payment.transaction_id",
                message="a paid order needs the payment's transaction id",
                department=sales,
            )
        )

    # Customer and delivery data belong to customer service, who can call the customer.
    if _blank(order.customer.name):
        problems.append(IntakeProblem(field="customer.name", message="missing", department=service))
    if _blank(order.customer.phone) and _blank(order.shipping.contact_phone):
        problems.append(
            IntakeProblem(
                field="customer.phone", message="no phone to reach the customer", department=service
            )
        )
    # Goods are shipped there; a service is performed there (P3.4).
    for field in ("address", "contact_name", "contact_phone"):
        if _blank(getattr(order.shipping, field)):
            problems.append(
                IntakeProblem(field=f"shipping.{field}", message="missing", department=service)
            )
    return problems
