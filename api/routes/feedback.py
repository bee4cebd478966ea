"""Customer feedback (P7.2, P7.3): intake from every channel, replies, and the recorded result.

Who may call what (domain/feedback.py): the platform (chat, hotline and email
systems) and customer service hand feedback over; customer service replies and
resolves; any member of staff reads it (P3.5: the departments concerned see it).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import CurrentStaff, Cursor, IdempotencyKey, State, temporal_ui_link
from api.errors import ApiError, conflict, not_found
from api.feedback_client import run_feedback_update
from api.feedback_schemas import FeedbackCreated, FeedbackList, FeedbackPublic, FeedbackSummary
from api.routes import CONFLICT, NOT_FOUND, replayed
from db import feedback as feedback_store
from db import queries
from domain.contracts import FeedbackWorkflowInput
from domain.feedback import (
    Channel,
    FeedbackKind,
    FeedbackReplyCommand,
    FeedbackReplyRequest,
    FeedbackRequest,
    FeedbackResolveCommand,
    FeedbackResolveRequest,
    FeedbackResult,
    FeedbackState,
    FeedbackView,
    feedback_workflow_id,
)
from domain.ids import fingerprint
from domain.personal_data import customer_ref, may_decode
from workflows import search_attributes as sa
from workflows.feedback import FeedbackWorkflow

router = APIRouter(prefix="/api/v1/feedback", tags=["feedback"])

#: How long `POST /feedback` waits for the workflow to open the task before answering.
TASK_WAIT_SECONDS = 5.0


def _feedback_id(body: FeedbackRequest, key: str | None) -> str:
    """The channel's own id; else one derived from the Idempotency-Key; else a new one."""
    if body.feedback_id:
        return body.feedback_id
    if key:
        return "K" + hashlib.sha256(key.encode()).hexdigest()[:24]
    return "F" + uuid.uuid4().hex[:24]


async def _recorded(state: State, feedback_id: str) -> FeedbackView | None:
    def read() -> FeedbackView | None:
        with state.db.read() as conn:
            return feedback_store.feedback_view(conn, feedback_id)

    return await run_in_threadpool(read)


async def _check_order(state: State, body: FeedbackRequest) -> None:
    """A linked order must exist and be the customer's own (P1.3: no step acts on wrong data)."""
    if body.order_id is None:
        return
    order_id = body.order_id

    def read() -> str | None:
        with state.db.read() as conn:
            view = queries.order_view(conn, order_id)
        return view.order.customer.id if view else None

    customer = await run_in_threadpool(read)
    if customer is None:
        raise not_found(f"order {order_id}")
    if customer != body.customer_id:
        raise ApiError(422, f"order {order_id} belongs to another customer", field="customer_id")


async def _wait_for_task(state: State, feedback_id: str) -> FeedbackView | None:
    deadline = time.monotonic() + TASK_WAIT_SECONDS
    while time.monotonic() < deadline:
        view = await _recorded(state, feedback_id)
        if view is not None and view.task is not None:
            return view
        await asyncio.sleep(0.05)
    return None


def _created(feedback_id: str, view: FeedbackView | None) -> FeedbackCreated:
    return FeedbackCreated(
        feedback_id=feedback_id,
        state=view.state if view else FeedbackState.OPEN,
        task_id=view.task.task_id if view and view.task else None,
        first_reply_due_at=view.first_reply_due_at if view else None,
    )


@router.post(
    "",
    status_code=201,
    response_model=FeedbackCreated,
    responses={**CONFLICT, **NOT_FOUND, **replayed(FeedbackCreated)},
)
async def create_feedback(
    body: FeedbackRequest,
    staff: CurrentStaff,
    state: State,
    response: Response,
    key: IdempotencyKey = None,
) -> FeedbackCreated:
    """Hand over an inquiry, complaint or praise (P7.2); opens a customer-service task."""
    feedback_id = _feedback_id(body, key)
    await _check_order(state, body)
    body_fingerprint = fingerprint(body.model_dump(mode="json", exclude={"feedback_id"}))
    try:
        await state.client.start_workflow(
            FeedbackWorkflow.run,
            FeedbackWorkflowInput(
                feedback_id=feedback_id,
                request=body.model_copy(update={"feedback_id": feedback_id}),
                policy=state.settings.policy,
                submitted_by=staff.actor,
                fingerprint=body_fingerprint,
            ),
            id=feedback_workflow_id(feedback_id),
            task_queue=state.settings.task_queue,
            # A resolved feedback keeps its id: the same message again is not new feedback.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"Feedback {feedback_id} · {body.kind.value} via {body.channel.value}",
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(
                        sa.CUSTOMER_ID,
                        customer_ref(body.customer_id, state.settings.customer_ref_secret()),
                    ),
                    SearchAttributePair(sa.OVERDUE, False),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        existing = await _wait_for_task(state, feedback_id)

        def stored_fingerprint() -> str | None:
            with state.db.read() as conn:
                return feedback_store.feedback_fingerprint(conn, feedback_id)

        if await run_in_threadpool(stored_fingerprint) != body_fingerprint:
            raise conflict(
                "feedback_id already exists with a different body",
                existing.state.value if existing else None,
                "feedback_id_reused",
            ) from None
        response.status_code = 200
        return _created(feedback_id, existing)
    return _created(feedback_id, await _wait_for_task(state, feedback_id))


@router.get("", response_model=FeedbackList)
async def list_feedback(
    staff: CurrentStaff,
    state: State,
    feedback_state: Annotated[FeedbackState | None, Query(alias="state")] = None,
    kind: FeedbackKind | None = None,
    channel: Channel | None = None,
    order_id: Annotated[str | None, Query(max_length=64)] = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor = None,
) -> FeedbackList:
    """Feedback, newest first, with its reply task's deadline flags."""

    def read() -> queries.Page:
        with state.db.read() as conn:
            return feedback_store.list_feedback(
                conn,
                state=feedback_state.value if feedback_state else None,
                kind=kind.value if kind else None,
                channel=channel.value if channel else None,
                order_id=order_id,
                customer_id=customer_id,
                limit=limit,
                cursor=cursor,
            )

    page = await run_in_threadpool(read)
    return FeedbackList(
        items=[FeedbackSummary.from_row(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/{feedback_id}", response_model=FeedbackPublic)
async def get_feedback(feedback_id: str, staff: CurrentStaff, state: State) -> FeedbackPublic:
    """One piece of feedback: the message, every reply, the result and its record."""

    def read() -> tuple[FeedbackView | None, list[dict[str, object]]]:
        with state.db.read() as conn:
            return (
                feedback_store.feedback_view(conn, feedback_id),
                feedback_store.feedback_events_of(conn, feedback_id),
            )

    view, events = await run_in_threadpool(read)
    if view is None:
        raise not_found(f"feedback {feedback_id}")
    ui = temporal_ui_link(state, feedback_workflow_id(feedback_id))
    return FeedbackPublic.build(view, events, ui if may_decode(staff.department) else None)


@router.post("/{feedback_id}/replies", response_model=FeedbackResult, responses=CONFLICT)
async def reply(
    feedback_id: str,
    body: FeedbackReplyRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> FeedbackResult:
    """Answer the customer (P7.2); the first reply closes the reply task."""
    command = FeedbackReplyCommand(**body.model_dump(), actor=staff.actor)
    return await run_feedback_update(
        state, feedback_id, "reply", FeedbackWorkflow.reply, command, key
    )


@router.post("/{feedback_id}/resolve", response_model=FeedbackResult, responses=CONFLICT)
async def resolve(
    feedback_id: str,
    body: FeedbackResolveRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> FeedbackResult:
    """Record the final result of the feedback (P7.3) and whom it was passed to (P3.5)."""
    command = FeedbackResolveCommand(**body.model_dump(), actor=staff.actor)
    return await run_feedback_update(
        state, feedback_id, "resolve", FeedbackWorkflow.resolve, command, key
    )
