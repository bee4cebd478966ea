"""Inputs and results of the workflows, as the API, the tools and the workflows share them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.actors import Actor
from domain.catalogue import Product
from domain.feedback import FeedbackOutcome, FeedbackRequest, FeedbackState
from domain.inventory import InventoryLevel, ReceiveStock
from domain.order.details import NewOrder
from domain.order.state import OrderState
from domain.policy import PolicySettings
from domain.review_checklist import CustomerStanding
from domain.states import OrderStatus


class OrderWorkflowInput(BaseModel):
    order: NewOrder
    #: The policy in force when the order arrived; kept for the order's whole life.
    policy: PolicySettings
    submitted_by: Actor
    #: Hash of the creating request (POST /orders is idempotent on order id and body).
    fingerprint: str
    #: The catalogue's products the order's lines name (those it has), read by the API at
    #: hand-over and covered by the start's signature (P3.1): intake checks the lines
    #: against them. An order whose products are not given is checked against none.
    products: list[Product] = []
    #: What the read model knew of the customer at hand-over (P3.1 customer qualification).
    customer: CustomerStanding = CustomerStanding()
    #: The order as its previous run left it, when the workflow continued as new (its
    #: history had grown long): the new run carries on from there.
    carried: OrderState | None = None


class OrderOutcome(BaseModel):
    order_id: str
    status: OrderStatus
    closed_at: datetime


class RestockInput(BaseModel):
    sku: str
    #: The goods received; None when a stock count raised `on_hand` and only orders resume.
    receipt: ReceiveStock | None = None
    #: The receipt id or stock-count id that caused this run (its workflow id's suffix).
    trigger_id: str


class RestockResult(BaseModel):
    level: InventoryLevel
    resumed_orders: list[str]


class FeedbackWorkflowInput(BaseModel):
    feedback_id: str
    request: FeedbackRequest
    #: The policy in force when the feedback arrived (its first-reply deadline).
    policy: PolicySettings
    submitted_by: Actor
    #: Hash of the intake request: the same feedback_id with another body is a 409.
    fingerprint: str


class FeedbackClosed(BaseModel):
    feedback_id: str
    state: FeedbackState
    outcome: FeedbackOutcome | None
    resolved_at: datetime | None
