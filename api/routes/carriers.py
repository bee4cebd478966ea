"""Carrier callbacks (P3.4): tracking events a carrier posts, signed with its secret.

No bearer token: the carrier proves itself with `X-Carrier-Signature: sha256=<hex>`, an
HMAC-SHA256 with its secret (config/carrier_secrets.py) over `<X-Carrier-Timestamp>.<raw
body>`. A missing or wrong signature, a timestamp further off than
`OMS_CARRIER_CALLBACK_TOLERANCE_SECONDS`, or a request taken before (the same signature)
is 401 and changes nothing. A good event goes to the order's workflow as the tracking
signal `/tracking` sends, its event id namespaced by carrier; the workflow ignores an
event id it has applied, so an event re-signed and sent again counts once.
"""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from api.deps import AppState, State
from api.errors import ApiError, not_found
from api.orders_client import recorded_status, send_signal
from api.routes import CONFLICT, error
from api.routes.actions import check_trackable
from api.schemas import Accepted
from config.carrier_secrets import signature
from db import carriers as carrier_store
from domain.actors import Actor, Department
from domain.commands import TrackingCommand, TrackingEventKind
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/api/v1/carriers", tags=["carriers"])

#: The longest event id the workflow keeps (TrackingRequest.event_id), namespaced included.
EVENT_ID_LIMIT = 100


class CarrierEvent(BaseModel):
    """A carrier's tracking event (events as for `/orders/{id}/tracking`)."""

    model_config = ConfigDict(extra="ignore")

    event_id: str = Field(min_length=1, max_length=80)
    tracking_number: str = Field(min_length=1, max_length=100)
    event: TrackingEventKind
    location: str | None = Field(default=None, max_length=200)
    occurred_at: AwareDatetime


def carrier_actor(carrier: str) -> Actor:
    """Who a carrier's event is recorded as: the platform's feed, named after the carrier."""
    return Actor(staff_id=f"carrier:{carrier}"[:64], department=Department.PLATFORM)


def _unauthorized(why: str) -> ApiError:
    return ApiError(401, why)


def check_signature(
    secret: str, timestamp: str | None, given: str | None, body: bytes, tolerance: int
) -> str:
    """The signature's hex when it is right and fresh; else 401."""
    if not timestamp or not given:
        raise _unauthorized("X-Carrier-Timestamp and X-Carrier-Signature are required")
    timestamp = timestamp.strip()
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise _unauthorized("X-Carrier-Timestamp is not unix seconds")
    sent_at = int(timestamp)
    expected = signature(secret, timestamp, body)
    # Compared as bytes: compare_digest refuses a str with characters beyond ASCII.
    if not hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace")):
        raise _unauthorized("the signature does not match")
    if abs(time.time() - sent_at) > tolerance:
        raise _unauthorized(f"the timestamp is more than {tolerance} s off")
    return expected.removeprefix("sha256=")


@router.post(
    "/{carrier}/events",
    status_code=202,
    response_model=Accepted,
    responses={
        401: error(
            "Not signed, not fresh, or taken before (a replay): the signature headers are "
            "this endpoint's authentication"
        ),
        **CONFLICT,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CarrierEvent.model_json_schema()}},
        }
    },
)
async def carrier_event(
    carrier: str,
    request: Request,
    state: State,
    x_carrier_timestamp: str | None = Header(default=None, max_length=20),
    x_carrier_signature: str | None = Header(default=None, max_length=200),
) -> JSONResponse:
    """A carrier's signed tracking event (P3.4); 401 unless signed, fresh and new."""
    settings = state.settings
    if carrier not in settings.carriers and carrier not in settings.carrier_secrets:
        raise not_found(f"carrier {carrier}")
    secret = await run_in_threadpool(state.carrier_secrets.get, carrier)
    body = await request.body()
    tolerance = settings.carrier_callback_tolerance_seconds
    signed = check_signature(secret, x_carrier_timestamp, x_carrier_signature, body, tolerance)
    try:
        event = CarrierEvent.model_validate_json(body)
    except ValidationError as invalid:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in invalid.errors()]
        ) from None
    event_id = f"{carrier}:{event.event_id}"
    if len(event_id) > EVENT_ID_LIMIT:
        raise RequestValidationError(
            [{"loc": ("body", "event_id"), "msg": "too long", "type": "string_too_long"}]
        )

    def remember() -> bool:
        now = datetime.now(UTC)
        with state.db.write() as conn:
            # A signature older than twice the tolerance belongs to a timestamp refused
            # anyway; clearing them once per tolerance keeps the table small without a
            # delete on every callback.
            if time.monotonic() - state.callbacks_pruned_at > tolerance:
                carrier_store.prune_callbacks(conn, now - timedelta(seconds=2 * tolerance))
                state.callbacks_pruned_at = time.monotonic()
            return carrier_store.remember_callback(conn, carrier, signed, now)

    if not await run_in_threadpool(remember):
        raise _unauthorized("this request was taken before (a replay)")
    try:
        order_id = await _order_for(state, carrier, event.tracking_number)
        status = await recorded_status(state, order_id)
        if status is None:
            raise not_found(f"tracking number {event.tracking_number} of {carrier}")
        check_trackable(status)
        command = TrackingCommand(
            event_id=event_id,
            event=event.event,
            location=event.location,
            note=None,
            actor=carrier_actor(carrier),
        )
        await send_signal(state, order_id, OrderWorkflow.tracking, command)
    except ApiError:
        # Not applied: the carrier may send the very same request again.
        def forget() -> None:
            with state.db.write() as conn:
                carrier_store.forget_callback(conn, carrier, signed)

        await run_in_threadpool(forget)
        raise
    return JSONResponse(
        {"accepted": True, "order_id": order_id, "event_id": event_id}, status_code=202
    )


async def _order_for(state: AppState, carrier: str, tracking_number: str) -> str:
    def read() -> str | None:
        with state.db.read() as conn:
            return carrier_store.order_for_tracking(conn, carrier, tracking_number)

    order_id = await run_in_threadpool(read)
    if order_id is None:
        raise not_found(f"tracking number {tracking_number} of {carrier}")
    return order_id
