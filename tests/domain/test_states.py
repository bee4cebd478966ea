"""The transition table (domain.states): every state reachable, terminal states final."""

from __future__ import annotations

import pytest

from domain.states import BEFORE_SHIPMENT, TERMINAL, TRANSITIONS, OrderStatus, can_transition

S = OrderStatus
CONTRACT_STATUSES = {
    "received",
    "needs_correction",
    "under_review",
    "out_of_stock",
    "ready_to_pack",
    "awaiting_dispatch",
    "in_transit",
    "delivered",
    "completed",
    "cancelled",
    "rejected",
    "returned",
}


def test_every_status_of_the_api_contract_exists():
    assert {s.value for s in OrderStatus} >= CONTRACT_STATUSES


def test_the_table_has_a_row_for_every_status():
    assert set(TRANSITIONS) == set(OrderStatus)


def test_every_status_is_reachable_from_received():
    seen, frontier = {S.RECEIVED}, [S.RECEIVED]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(OrderStatus)


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_a_closed_order_never_changes_status(status):
    assert TRANSITIONS[status] == frozenset()


@pytest.mark.parametrize("status", sorted(set(OrderStatus) - TERMINAL))
def test_every_open_order_can_still_end(status):
    assert TRANSITIONS[status], f"{status} is a dead end"


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (S.RECEIVED, S.UNDER_REVIEW, True),  # P2.2 valid data
        (S.RECEIVED, S.NEEDS_CORRECTION, True),  # P2.2 invalid data
        (S.UNDER_REVIEW, S.READY_TO_PACK, True),  # P3.1 approved, P3.2 in stock
        (S.UNDER_REVIEW, S.OUT_OF_STOCK, True),  # P3.2 short
        (S.UNDER_REVIEW, S.REJECTED, True),  # P3.1 rejected
        (S.OUT_OF_STOCK, S.READY_TO_PACK, True),  # restock
        (S.READY_TO_PACK, S.AWAITING_DISPATCH, True),  # P3.3 packed
        (S.AWAITING_DISPATCH, S.IN_TRANSIT, True),  # P3.4 dispatched
        (S.IN_TRANSIT, S.DELIVERED, True),
        (S.DELIVERED, S.COMPLETED, True),
        (S.UNDER_REVIEW, S.AWAITING_DISPATCH, True),  # a service order: nothing to pack
        (S.RECEIVED, S.READY_TO_PACK, False),  # no review skipped
        (S.UNDER_REVIEW, S.IN_TRANSIT, False),
        (S.READY_TO_PACK, S.IN_TRANSIT, False),  # no dispatch before packing
        (S.IN_TRANSIT, S.CANCELLED, False),  # P4.2: after shipment, no cancellation
        (S.COMPLETED, S.RETURNED, False),
        (S.REJECTED, S.UNDER_REVIEW, False),
    ],
)
def test_transitions(current, new, allowed):
    assert can_transition(current, new) is allowed


@pytest.mark.parametrize("status", sorted(BEFORE_SHIPMENT))
def test_an_order_can_be_cancelled_before_shipment(status):
    assert can_transition(status, S.CANCELLED)
