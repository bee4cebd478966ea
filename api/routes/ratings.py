"""Satisfaction ratings (P6.3, P8.2): one rating of 1-5 per order, once the customer has it."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import CurrentStaff, State
from api.errors import conflict, from_domain_error, not_found
from api.feedback_schemas import RatingPublic
from api.routes import CONFLICT, replayed
from db import feedback as feedback_store
from db import queries
from db.feedback import StoredRating
from domain.errors import OrderError
from domain.feedback import Channel, RatingRequest, check_rateable
from domain.ids import fingerprint
from domain.states import OrderStatus

router = APIRouter(prefix="/api/v1/orders", tags=["feedback"])


def _public(rating: StoredRating) -> RatingPublic:
    return RatingPublic(
        order_id=rating.order_id,
        score=rating.score,
        comment=rating.comment,
        channel=Channel(rating.channel),
        rated_at=rating.rated_at,
        rated_by=rating.actor_id,
    )


@router.post(
    "/{order_id}/rating",
    status_code=201,
    response_model=RatingPublic,
    responses={**CONFLICT, **replayed(RatingPublic)},
)
async def rate_order(
    order_id: str, body: RatingRequest, staff: CurrentStaff, state: State, response: Response
) -> RatingPublic:
    """The customer's rating of a delivered order; the same rating again is 200, another 409."""
    body_fingerprint = fingerprint(body.model_dump(mode="json"))

    def write() -> tuple[StoredRating, bool] | None:
        with state.db.write() as conn:
            status = queries.order_status(conn, order_id)
            if status is None:
                return None
            check_rateable(OrderStatus(status))
            return feedback_store.record_rating(
                conn, order_id, body, staff.actor, body_fingerprint, datetime.now(UTC)
            )

    try:
        written = await run_in_threadpool(write)
    except OrderError as error:
        raise from_domain_error(error) from None
    if written is None:
        raise not_found(f"order {order_id}")
    stored, new = written
    if not new:
        if stored.fingerprint != body_fingerprint:
            raise conflict(
                f"order {order_id} is already rated {stored.score}",
                None,
                "already_rated",
                {"score": str(stored.score)},
            )
        response.status_code = 200
    return _public(stored)


@router.get("/{order_id}/rating", response_model=RatingPublic)
async def get_rating(order_id: str, staff: CurrentStaff, state: State) -> RatingPublic:
    """The order's rating (404 while it has none)."""

    def read() -> StoredRating | None:
        with state.db.read() as conn:
            return feedback_store.rating_of(conn, order_id)

    rating = await run_in_threadpool(read)
    if rating is None:
        raise not_found(f"rating of order {order_id}")
    return _public(rating)
