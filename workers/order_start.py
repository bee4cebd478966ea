"""Starting an order's workflow as the platform hands the order over (P2.2), for every client:
the API's `POST /orders`, and tools that drive orders through Temporal (the benchmark)."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from config.settings import Settings
from domain.actors import Actor
from domain.catalogue import Product
from domain.commands import ReceiveCommand, Received
from domain.contracts import OrderWorkflowInput
from domain.ids import order_workflow_id
from domain.order.details import NewOrder
from domain.personal_data import customer_ref
from domain.review_checklist import CustomerStanding
from domain.states import OrderStatus
from workflows import search_attributes as sa
from workflows.order import OrderWorkflow


def _summary(order: NewOrder) -> str:
    """The Temporal UI's one-line summary: no personal data (rule 7)."""
    units = sum(line.quantity for line in order.items)
    return (
        f"Order {order.order_id} · {order.kind.value} · {len(order.items)} line(s), "
        f"{units} unit(s) · {order.total} {order.payment.status.value}"
    )


async def start_order(
    client: Client,
    settings: Settings,
    order: NewOrder,
    submitted_by: Actor,
    fingerprint: str,
    products: Sequence[Product],
    customer: CustomerStanding | None = None,
) -> Received:
    """Hand the order to its workflow as `POST /orders` does: start it (or find it running)
    with the `receive` update, answered once intake validated and recorded it (P2.2).

    `products` are the catalogue's products the order names (domain/catalogue.py), and
    `customer` what the read model knew of the customer (P3.1; nothing when not given).

    Raises WorkflowUpdateFailedError when the order id is running with another body, and
    WorkflowAlreadyStartedError when it belongs to an order that has ended.
    """
    start = WithStartWorkflowOperation(
        OrderWorkflow.run,
        OrderWorkflowInput(
            order=order,
            policy=settings.policy,
            submitted_by=submitted_by,
            fingerprint=fingerprint,
            products=list(products),
            customer=customer or CustomerStanding(),
        ),
        id=order_workflow_id(order.order_id),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=_summary(order),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.ORDER_STATUS, OrderStatus.RECEIVED.value),
                SearchAttributePair(
                    sa.CUSTOMER_ID, customer_ref(order.customer.id, settings.customer_ref_secret())
                ),
                SearchAttributePair(sa.ORDER_TOTAL, float(order.total)),
                SearchAttributePair(sa.OVERDUE, False),
            ]
        ),
    )
    received: Received = await client.execute_update_with_start_workflow(
        OrderWorkflow.receive,
        ReceiveCommand(actor=submitted_by, fingerprint=fingerprint),
        start_workflow_operation=start,
    )
    return received
