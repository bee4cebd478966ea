"""Workflow-level metrics (P6.3, P8.2): counters on the worker's meter, safe under replay.

The SDK's workflow meter skips recording while a workflow replays its history,
so an order closed once is counted once however often its history is replayed.
The figures appear on the worker's Prometheus endpoint (OMS_WORKER_METRICS_ADDRESS)
with the SDK's own labels (namespace, task_queue, workflow_type).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.events import ALERTING
    from domain.states import OrderStatus

ORDERS_CLOSED = "oms_orders_closed"
ALERTS = "oms_alerts"
CONTINUED_AS_NEW = "oms_orders_continued_as_new"


def count_outcome(status: OrderStatus) -> None:
    """Count an order closed with this outcome: completed, rejected, cancelled, returned..."""
    counter = workflow.metric_meter().create_counter(
        ORDERS_CLOSED, "Orders closed, by outcome", "orders"
    )
    counter.add(1, {"status": status.value})


def alert_on(kinds: list[str]) -> None:
    """Count, and log as a warning, every recorded event that ops must look at (a feed
    refused or over its limit, a capture the gateway did not confirm): alert on the rate."""
    alerting = [kind for kind in kinds if kind in ALERTING]
    if not alerting:
        return
    counter = workflow.metric_meter().create_counter(
        ALERTS, "Events that ops must look at, by kind", "events"
    )
    for kind in alerting:
        counter.add(1, {"kind": kind})
        workflow.logger.warning("alert: %s on %s", kind, workflow.info().workflow_id)


def count_continued_as_new(history_length: int) -> None:
    """An order's history grew long and it carried on in a new run: worth knowing (a flood of
    feed events, or an order with a very long life)."""
    counter = workflow.metric_meter().create_counter(
        CONTINUED_AS_NEW, "Order runs continued as new, their history grown long", "runs"
    )
    counter.add(1)
    workflow.logger.warning(
        "continuing %s as new after %d history events", workflow.info().workflow_id, history_length
    )
