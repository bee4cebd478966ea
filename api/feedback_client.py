"""How the API talks to feedback workflows: a staff action on feedback runs as an Update."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.deps import AppState
from api.errors import ApiError, conflict, from_update_failure, is_closed, is_not_found, not_found
from domain.feedback import FeedbackResult, feedback_workflow_id
from workflows.feedback import FeedbackWorkflow


def feedback_handle(state: AppState, feedback_id: str) -> WorkflowHandle[FeedbackWorkflow, Any]:
    return state.client.get_workflow_handle_for(
        FeedbackWorkflow.run, feedback_workflow_id(feedback_id)
    )


async def run_feedback_update(
    state: AppState,
    feedback_id: str,
    name: str,
    update: Any,
    command: Any,
    idempotency_key: str | None,
) -> FeedbackResult:
    """Send a staff action to the feedback; its result, or the refusal as an error."""
    update_id = f"{name}:{idempotency_key or uuid.uuid4()}"
    try:
        result: FeedbackResult = await feedback_handle(state, feedback_id).execute_update(
            update, command, id=update_id
        )
        return result
    except WorkflowUpdateFailedError as error:
        raise from_update_failure(error) from None
    except RPCError as error:
        if is_closed(error):
            raise conflict(
                "the feedback is already resolved (P7.3)", "resolved", "feedback_resolved"
            ) from None
        if is_not_found(error):
            raise not_found(f"feedback {feedback_id}") from None
        raise ApiError(503, "the feedback service is unavailable, try again") from None
