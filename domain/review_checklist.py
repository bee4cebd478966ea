"""P3.1 the review as a checklist: what the system found for the order, point by point, and
the reviewer's answers.

P3.1 names three things sales reviews: the customer's qualification, the legality of the
goods and the accuracy of the prices. When the order goes to review the aggregate writes
down what it found for each (`review_findings`), from the order, the catalogue's products
(domain/catalogue.py) and what the read model knew of the customer when the order was
handed over (`CustomerStanding`). The reviewer answers each point (`PointAnswer`); a point
with a finding that needs a judgement must be answered before the order can be approved,
and an approval cannot say a point is not in order (that is a rejection).

Findings that other rules already settle are shown, not asked again: a new customer (the
phone verification, P3.1), a restricted product (its check, `checks_done`), a price
between the floor and the list price (the catalogue allows it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.catalogue import Product
from domain.order.details import NewOrder, Strict


class ReviewPoint(StrEnum):
    CUSTOMER_QUALIFICATION = "customer_qualification"
    LEGALITY = "legality"
    PRICE_ACCURACY = "price_accuracy"


class FindingCode(StrEnum):
    NEW_CUSTOMER = "new_customer"
    BLOCKED_CUSTOMER = "blocked_customer"
    UNPAID_HISTORY = "unpaid_history"
    RESTRICTED = "restricted"
    LIST_PRICE = "list_price"
    DISCOUNTED = "discounted"


class CustomerStanding(BaseModel):
    """What the read model knew of the customer when the order was handed over (P3.1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: On the blocked customer list (sales keeps it), and why.
    blocked: bool = False
    blocked_reason: str | None = None
    #: Earlier orders, and those of them cancelled because they were never paid (P2.1).
    earlier_orders: int = Field(default=0, ge=0)
    unpaid_orders: int = Field(default=0, ge=0)


class Finding(BaseModel):
    """One thing the system found for a point of the review."""

    model_config = ConfigDict(frozen=True)

    point: ReviewPoint
    code: FindingCode
    params: dict[str, str] = {}
    #: The reviewer must answer the point before approving (others are for information).
    needs_answer: bool = False


class PointAnswer(Strict):
    """The reviewer's answer to one point of the checklist."""

    point: ReviewPoint
    ok: bool
    note: str = Field(default="", max_length=500)


class CallOutcome(StrEnum):
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    NO_ANSWER = "no_answer"


class PhoneCall(Strict):
    """P3.1 phone verification: when the reviewer called the customer and what came of it
    (who called is the reviewer)."""

    called_at: datetime
    outcome: CallOutcome
    note: str = Field(default="", max_length=500)


def _customer(order: NewOrder, standing: CustomerStanding) -> list[Finding]:
    point = ReviewPoint.CUSTOMER_QUALIFICATION
    found: list[Finding] = []
    if order.customer.new_customer:
        found.append(Finding(point=point, code=FindingCode.NEW_CUSTOMER))
    if standing.blocked:
        reason = {"reason": standing.blocked_reason or ""}
        found.append(Finding(point=point, code=FindingCode.BLOCKED_CUSTOMER, params=reason))
    if standing.unpaid_orders:
        counts = {"unpaid": str(standing.unpaid_orders), "orders": str(standing.earlier_orders)}
        found.append(
            Finding(point=point, code=FindingCode.UNPAID_HISTORY, params=counts, needs_answer=True)
        )
    return found


def _goods(order: NewOrder, products: Mapping[str, Product]) -> list[Finding]:
    found: list[Finding] = []
    for line in order.items:
        product = products.get(line.sku)
        if product is None:
            continue  # not in the catalogue: intake sent the order to correction, not review
        if product.restricted:
            check = {"sku": line.sku, "check": product.required_check or ""}
            found.append(
                Finding(point=ReviewPoint.LEGALITY, code=FindingCode.RESTRICTED, params=check)
            )
        prices = {"sku": line.sku, "price": str(line.unit_price)}
        if line.unit_price < product.list_price:
            prices["list_price"] = str(product.list_price)
            prices["floor_price"] = str(product.floor_price)
            code = FindingCode.DISCOUNTED
        else:
            code = FindingCode.LIST_PRICE
        found.append(Finding(point=ReviewPoint.PRICE_ACCURACY, code=code, params=prices))
    return found


def review_findings(
    order: NewOrder, products: Mapping[str, Product], standing: CustomerStanding
) -> list[Finding]:
    """What the system found for each point of the review, in the points' order."""
    return _customer(order, standing) + _goods(order, products)


def unanswered(findings: list[Finding], answers: list[PointAnswer]) -> list[ReviewPoint]:
    """The points whose findings need the reviewer's answer and have none."""
    answered = {answer.point for answer in answers}
    due = {f.point for f in findings if f.needs_answer}
    return [point for point in ReviewPoint if point in due and point not in answered]
