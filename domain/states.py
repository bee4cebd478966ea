"""Order states (api.md status values) and the explicit table of allowed transitions.

The table is the single answer to "may an order go from A to B?": the workflow
asserts every status change against it, and tests walk it. No `match (old, new)`.
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    RECEIVED = "received"
    NEEDS_CORRECTION = "needs_correction"
    #: An order paid before it ships (online, bank transfer) whose payment has not gone
    #: through yet: it waits, and exists for the departments only once paid (P2.1).
    AWAITING_PAYMENT = "awaiting_payment"
    UNDER_REVIEW = "under_review"
    OUT_OF_STOCK = "out_of_stock"
    READY_TO_PACK = "ready_to_pack"
    AWAITING_DISPATCH = "awaiting_dispatch"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    RETURNED = "returned"
    #: Added to the contract's list: a shipment lost or damaged in transit and refunded (P5.2).
    REFUNDED = "refunded"
    #: P1.2 service orders: approved, logistics agrees a visit with the customer; the visit is
    #: agreed (a time window, the address, the technician); the work is done and recorded on
    #: site, and waits for the customer's confirmation. Confirmed, a service order is
    #: `delivered` and takes the after-sales path of delivered goods.
    AWAITING_APPOINTMENT = "awaiting_appointment"
    SERVICE_SCHEDULED = "service_scheduled"
    AWAITING_CONFIRMATION = "awaiting_confirmation"


S = OrderStatus

#: Before shipment an order may still be changed or cancelled (P4.1, P4.2).
BEFORE_SHIPMENT: frozenset[OrderStatus] = frozenset(
    {
        S.RECEIVED,
        S.NEEDS_CORRECTION,
        S.AWAITING_PAYMENT,
        S.UNDER_REVIEW,
        S.OUT_OF_STOCK,
        S.READY_TO_PACK,
        S.AWAITING_DISPATCH,
        # P1.2: a service not performed yet may still be changed or cancelled like goods
        # not yet shipped.
        S.AWAITING_APPOINTMENT,
        S.SERVICE_SCHEDULED,
    }
)

TERMINAL: frozenset[OrderStatus] = frozenset(
    {S.COMPLETED, S.CANCELLED, S.REJECTED, S.RETURNED, S.REFUNDED}
)

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    # P2.2 intake: valid data goes to review (P2.1: once paid), invalid to correction.
    S.RECEIVED: frozenset({S.NEEDS_CORRECTION, S.AWAITING_PAYMENT, S.UNDER_REVIEW, S.CANCELLED}),
    S.NEEDS_CORRECTION: frozenset(
        {S.NEEDS_CORRECTION, S.AWAITING_PAYMENT, S.UNDER_REVIEW, S.CANCELLED}
    ),
    # P2.1: paid, it goes to review; unpaid by the deadline (or cancelled), it ends.
    S.AWAITING_PAYMENT: frozenset({S.UNDER_REVIEW, S.CANCELLED}),
    # P3.1 review; P3.2 stock; a service order has nothing to pick: a visit is agreed (P1.2).
    # (A service order approved before the visits existed went to AWAITING_DISPATCH.)
    S.UNDER_REVIEW: frozenset(
        {
            S.READY_TO_PACK,
            S.OUT_OF_STOCK,
            S.AWAITING_DISPATCH,
            S.AWAITING_APPOINTMENT,
            S.REJECTED,
            S.CANCELLED,
        }
    ),
    S.OUT_OF_STOCK: frozenset({S.READY_TO_PACK, S.OUT_OF_STOCK, S.CANCELLED}),
    # P4.1: an approved change of goods re-confirms stock, from any pre-shipment state.
    S.READY_TO_PACK: frozenset({S.AWAITING_DISPATCH, S.OUT_OF_STOCK, S.READY_TO_PACK, S.CANCELLED}),
    S.AWAITING_DISPATCH: frozenset(
        {S.IN_TRANSIT, S.AWAITING_DISPATCH, S.READY_TO_PACK, S.OUT_OF_STOCK, S.CANCELLED}
    ),
    # P3.4 delivery; P5.2 a lost or damaged parcel is reshipped (a new shipment) or refunded.
    S.IN_TRANSIT: frozenset(
        {S.DELIVERED, S.OUT_OF_STOCK, S.READY_TO_PACK, S.AWAITING_DISPATCH, S.REFUNDED}
    ),
    # P5.3 after delivery: completed when the window closes, returned, or an exchange ships;
    # a service complained about is visited again or refunded (P1.2).
    S.DELIVERED: frozenset(
        {
            S.COMPLETED,
            S.RETURNED,
            S.OUT_OF_STOCK,
            S.READY_TO_PACK,
            S.AWAITING_DISPATCH,
            S.AWAITING_APPOINTMENT,
            S.REFUNDED,
        }
    ),
    # P1.2 a service order: the visit agreed (or agreed again), the work done, confirmed by
    # the customer (or by itself after a while); a complaint means a rework visit or a refund.
    S.AWAITING_APPOINTMENT: frozenset({S.SERVICE_SCHEDULED, S.CANCELLED}),
    S.SERVICE_SCHEDULED: frozenset({S.SERVICE_SCHEDULED, S.AWAITING_CONFIRMATION, S.CANCELLED}),
    S.AWAITING_CONFIRMATION: frozenset({S.DELIVERED, S.AWAITING_APPOINTMENT, S.REFUNDED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.RETURNED: frozenset(),
    S.REFUNDED: frozenset(),
}


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    return new in TRANSITIONS[current]


def is_terminal(status: OrderStatus) -> bool:
    return status in TERMINAL
