"""TEST ONLY: a permissive stand-in for OrderWorkflow that records whatever it is told to.

The real OrderWorkflow cannot break the policy (its validators refuse), so an
audit that must find violations needs histories where they happened. This
workflow is registered under the type name "OrderWorkflow" on a task queue of
its own, takes the real start input, and writes the planted events through the
real `apply_order_changes` local activity, one step at a time: its histories
look to an auditor exactly like an order's.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.read_model import ReadModelActivities
    from domain.contracts import OrderWorkflowInput
    from domain.events import OrderEvent
    from domain.order.details import PaymentStatus
    from domain.order.writes import OrderChanges
    from domain.view import OrderView


class PlantedSteps(BaseModel):
    #: Each inner list is one step: the events one `apply_order_changes` call records.
    steps: list[list[OrderEvent]]


@workflow.defn(name="OrderWorkflow")
class PermissiveOrderWorkflow:
    def __init__(self) -> None:
        self._planted: PlantedSteps | None = None

    @workflow.run
    async def run(self, input: OrderWorkflowInput) -> None:
        await workflow.wait_condition(lambda: self._planted is not None)
        assert self._planted is not None
        order = input.order
        paid = order.total if order.payment.status is PaymentStatus.PAID else 0
        for revision, events in enumerate(self._planted.steps, start=1):
            now = workflow.now()
            view = OrderView(
                order=order,
                status=events[-1].status,
                created_at=now,
                updated_at=now,
                total=order.total,
                paid_amount=paid,
                intake_fingerprint=input.fingerprint,
                last_seq=events[-1].seq,
            )
            await workflow.execute_local_activity_method(
                ReadModelActivities.apply_order_changes,
                OrderChanges(view=view, revision=revision, events=events, lines_changed=True),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )

    @workflow.signal
    def plant(self, planted: PlantedSteps) -> None:
        self._planted = planted
