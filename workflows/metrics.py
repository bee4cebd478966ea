"""Workflow-level metrics (P6.3, P8.2): counters on the worker's meter, safe under replay.

The SDK's workflow meter skips recording while a workflow replays its history,
so an order closed once is counted once however often its history is replayed.
The figures appear on the worker's Prometheus endpoint (OMS_WORKER_METRICS_ADDRESS)
with the SDK's own labels (namespace, task_queue, workflow_type).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.states import OrderStatus

ORDERS_CLOSED = "oms_orders_closed"


def count_outcome(status: OrderStatus) -> None:
    """Count an order closed with this outcome: completed, rejected, cancelled, returned..."""
    counter = workflow.metric_meter().create_counter(
        ORDERS_CLOSED, "Orders closed, by outcome", "orders"
    )
    counter.add(1, {"status": status.value})
