"""What an auditor reads in one run of a workflow's history (P6.1, P8.1): the order's start,
its events as the workflow recorded them, the staff's requests and their answers, and
how the run ended. Plain data; `workers.history` decodes it from a Temporal history."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, JsonValue

from domain.contracts import OrderWorkflowInput
from domain.events import OrderEvent
from domain.ids import order_id_from_workflow_id

ORDER_WORKFLOW = "OrderWorkflow"


class StaffRequest(BaseModel):
    """A staff action as the workflow received it (an Update), and what became of it."""

    update_id: str
    name: str
    accepted_at: datetime
    #: The Update's argument as sent (commands carry the actor).
    input: JsonValue = None
    #: The answer (an ActionResult) when it succeeded; the refusal's message when not.
    result: JsonValue = None
    failure: str | None = None
    completed_at: datetime | None = None


class Closing(BaseModel):
    how: str  # completed | failed | timed_out | canceled | terminated | continued_as_new
    at: datetime
    result: JsonValue = None
    failure: str | None = None


class DecodedHistory(BaseModel):
    """What an auditor reads in one run's history."""

    workflow_id: str
    run_id: str
    workflow_type: str
    started_at: datetime
    #: The order workflow's start input (None for other workflow types).
    start: OrderWorkflowInput | None = None
    #: The order's events, by seq, as the workflow recorded them.
    events: list[OrderEvent] = []
    requests: list[StaffRequest] = []
    closing: Closing | None = None
    #: Markers whose result could not be decoded (kept for the report, never silently dropped).
    unreadable: list[str] = []

    @property
    def order_id(self) -> str | None:
        if self.start is not None:
            return self.start.order.order_id
        return order_id_from_workflow_id(self.workflow_id)

    @property
    def is_order(self) -> bool:
        return self.workflow_type == ORDER_WORKFLOW
