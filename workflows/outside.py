"""Asking the systems outside (the payment gateway, carriers, the customer's channel) from
an order's workflow: each call retried as its system deserves, and what stands in for an
answer when the system stays out of reach, so the aggregate always gets one.

Imported as a pass-through module, like workflows/shell.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from domain.carriers import BookedShipment, ShipmentBooking
from domain.ledger import CaptureAnswer, CaptureQuery, RefundOutcome, RefundRequest
from domain.notifications import HandedOff, NoticesSent, SendNotices
from workflows.retries import (
    CARRIER_RETRY,
    CARRIER_TIMEOUT,
    GATEWAY_RETRY,
    GATEWAY_TIMEOUT,
    NOTIFY_RETRY,
    NOTIFY_TIMEOUT,
)

A = TypeVar("A")


async def ask(
    activity: str,
    request: Any,
    answer_type: type[A],
    summary: str,
    unreachable: Callable[[ActivityError], A],
    timeout: timedelta = GATEWAY_TIMEOUT,
    retry: RetryPolicy = GATEWAY_RETRY,
) -> A:
    """An outside system's answer, retried; when it stays unreachable, what stands in."""
    try:
        answer: A = await workflow.execute_activity(
            activity,
            request,
            result_type=answer_type,
            start_to_close_timeout=timeout,
            retry_policy=retry,
            summary=summary,
        )
    except ActivityError as error:
        return unreachable(error)
    return answer


async def refund(request: RefundRequest) -> RefundOutcome:
    """A refund through the gateway; unreachable, it is not issued (finance takes over)."""
    return await ask(
        "issue_refund",
        request,
        RefundOutcome,
        f"{request.kind} {request.amount}",
        lambda error: RefundOutcome(
            refund_id=request.refund_id,
            issued=False,
            failure=f"gateway unavailable: {error.cause or error}",
        ),
    )


async def find_capture(query: CaptureQuery) -> CaptureAnswer:
    """P5.1: the gateway's word on a reported duplicate; unreachable, finance verifies."""
    return await ask(
        "find_capture",
        query,
        CaptureAnswer,
        f"capture {query.transaction_id}",
        lambda error: CaptureAnswer(
            transaction_id=query.transaction_id,
            event_id=query.event_id,
            failure=f"{error.cause or error}",
        ),
    )


async def book(booking: ShipmentBooking) -> BookedShipment:
    """P3.4: the carrier books the shipment; out of reach, the booking failed."""
    return await ask(
        "book_shipment",
        booking,
        BookedShipment,
        f"book {booking.carrier} ({booking.handover})",
        lambda error: BookedShipment(
            booking_id=booking.booking_id,
            carrier=booking.carrier,
            failure=f"carrier unavailable: {error.cause or error}",
        ),
        timeout=CARRIER_TIMEOUT,
        retry=CARRIER_RETRY,
    )


async def send_notices(request: SendNotices) -> NoticesSent:
    """The customer's messages; the activity gives up by itself after its attempts and
    answers what it handed off. Should it fail outright, every message is handed off."""
    return await ask(
        "send_notifications",
        request,
        NoticesSent,
        f"tell the customer ({len(request.notification_ids)} message(s))",
        lambda error: NoticesSent(
            order_id=request.order_id,
            handed_off=[
                HandedOff(notification_id=notice, template="", channel="", reason=f"{error.cause}")
                for notice in request.notification_ids
            ],
        ),
        timeout=NOTIFY_TIMEOUT,
        retry=NOTIFY_RETRY,
    )
