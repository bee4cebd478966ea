"""The conformance rules (P8.1) on hand-written event sequences: events in, findings out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from audit.rules import ACTION_OF_EVENT, RULES, Rule, check_order
from domain.actions import ACTION_RULES
from domain.actors import SYSTEM_ACTOR, Actor, Department
from domain.events import EventKind, OrderEvent
from domain.states import OrderStatus

D = Department
E = EventKind
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

PLATFORM = Actor(staff_id="platform-1", department=D.PLATFORM)
SALES = Actor(staff_id="sales-1", department=D.SALES)
WAREHOUSE = Actor(staff_id="warehouse-1", department=D.WAREHOUSE)
LOGISTICS = Actor(staff_id="logistics-1", department=D.LOGISTICS)
SERVICE = Actor(staff_id="service-1", department=D.CUSTOMER_SERVICE)
FINANCE = Actor(staff_id="finance-1", department=D.FINANCE)


def story(*steps: tuple[Any, ...]) -> list[OrderEvent]:
    """Events numbered from 1: each step is (kind, actor, data) or (kind, actor, data, extra)."""
    events = []
    for seq, step in enumerate(steps, start=1):
        kind, actor, data = step[:3]
        extra = step[3] if len(step) > 3 else {}
        events.append(
            OrderEvent(
                seq=seq,
                at=T0 + timedelta(minutes=seq),
                kind=kind,
                status=OrderStatus.UNDER_REVIEW,
                actor=actor,
                data=data,
                **extra,
            )
        )
    return events


RECEIVED_PAID = (E.RECEIVED, PLATFORM, {"lines": 1, "total": "258.00", "payment": "paid"})
APPROVED = (E.REVIEWED, SALES, {"approved": True, "phone_verified": False, "risk_reasons": []})
RESERVED = (E.STOCK_RESERVED, SYSTEM_ACTOR, {"reservation": "R1"})
PACKED = (E.PACKED, WAREHOUSE, {"packages": 1, "accessories": ["manual", "warranty_card"]})
SHIPPED = (E.STOCK_SHIPPED, SYSTEM_ACTOR, {"reservation": "R1"})
DISPATCHED = (E.DISPATCHED, LOGISTICS, {"carrier": "SF", "method": "express"})
DELIVERED = (E.DELIVERED, PLATFORM, {"on_time": True})
COMPLETED = (E.COMPLETED, SYSTEM_ACTOR, {})


def rules_found(events: list[OrderEvent]) -> list[tuple[str, int]]:
    return [(f.rule.value, f.seq) for f in check_order("O1", events)]


def test_an_order_that_followed_every_step_has_no_findings():
    events = story(RECEIVED_PAID, APPROVED, RESERVED, PACKED, SHIPPED, DISPATCHED, DELIVERED)
    assert rules_found(events) == []


def test_packing_before_an_approved_review_is_found_on_the_packed_event():
    rejected = (E.REVIEWED, SALES, {"approved": False, "phone_verified": False, "risk_reasons": []})
    events = story(RECEIVED_PAID, rejected, PACKED, APPROVED, PACKED)
    findings = check_order("O1", events)
    assert [(f.rule, f.seq, f.department) for f in findings] == [
        (Rule.PACK_BEFORE_APPROVAL, 3, D.WAREHOUSE)
    ]
    assert findings[0].clause == RULES[Rule.PACK_BEFORE_APPROVAL].clause


def test_a_risky_order_approved_without_phone_verification_is_found_and_goes_to_sales():
    unverified = (
        E.REVIEWED,
        SALES,
        {"approved": True, "phone_verified": False, "risk_reasons": ["new customer"]},
    )
    [finding] = check_order("O1", story(RECEIVED_PAID, unverified))
    assert (finding.rule, finding.seq, finding.department) == (
        Rule.RISKY_APPROVED_UNVERIFIED,
        2,
        D.SALES,
    )
    assert "new customer" in finding.message


def test_a_risky_order_approved_after_a_phone_call_or_rejected_unverified_is_fine():
    verified = (
        E.REVIEWED,
        SALES,
        {"approved": True, "phone_verified": True, "risk_reasons": ["amount 9000 over 5000"]},
    )
    rejected = (
        E.REVIEWED,
        SALES,
        {"approved": False, "phone_verified": False, "risk_reasons": ["new customer"]},
    )
    assert rules_found(story(RECEIVED_PAID, verified)) == []
    assert rules_found(story(RECEIVED_PAID, rejected)) == []


def test_shipping_or_dispatching_after_a_cancellation_is_found_on_each_shipment_event():
    cancelled = (E.CANCELLED, SERVICE, {"paid": True})
    events = story(RECEIVED_PAID, APPROVED, RESERVED, PACKED, cancelled, SHIPPED, DISPATCHED)
    findings = check_order("O1", events)
    assert [(f.rule, f.seq, f.department) for f in findings] == [
        (Rule.SHIPMENT_AFTER_CANCELLATION, 6, D.WAREHOUSE),
        (Rule.SHIPMENT_AFTER_CANCELLATION, 7, D.LOGISTICS),
    ]


def test_refunds_are_checked_cumulatively_against_the_money_received():
    refund = (E.REFUND_ISSUED, SYSTEM_ACTOR, {"refund_id": "F1", "amount": "200.00"})
    second = (E.REFUND_ISSUED, FINANCE, {"refund_id": "F2", "amount": "58.00"})
    third = (E.REFUND_ISSUED, FINANCE, {"refund_id": "F3", "amount": "0.01"})
    # A paid order's record books the reported payment in the ledger at intake (P2.2).
    booked = (
        E.LEDGER,
        PLATFORM,
        {"entry_id": "O1:payment:intake-1", "kind": "payment", "amount": "258.00"},
    )
    assert rules_found(story(RECEIVED_PAID, booked, refund, second)) == []
    findings = check_order("O1", story(RECEIVED_PAID, booked, refund, second, third))
    assert [(f.rule, f.seq, f.department) for f in findings] == [
        (Rule.REFUND_ABOVE_RECEIVED, 5, D.FINANCE)
    ]
    assert "258.01" in findings[0].message and "258.00" in findings[0].message


def test_an_unpaid_order_may_refund_only_what_the_ledger_shows_was_paid_later():
    unpaid = (E.RECEIVED, PLATFORM, {"lines": 1, "total": "100.00", "payment": "unpaid"})
    refund = (E.REFUND_ISSUED, FINANCE, {"refund_id": "F1", "amount": "100.00"})
    payment = (E.LEDGER, PLATFORM, {"entry_id": "L1", "kind": "payment", "amount": "100.00"})
    assert rules_found(story(unpaid, refund)) == [("refund_above_received", 2)]
    assert rules_found(story(unpaid, payment, refund)) == []


@pytest.mark.parametrize(
    ("step", "owner"),
    [
        ((E.PACKED, SALES, {"packages": 1}), D.WAREHOUSE),
        ((E.DISPATCHED, WAREHOUSE, {"carrier": "SF"}), D.LOGISTICS),
        ((E.CANCELLED, SALES, {"paid": True}), D.CUSTOMER_SERVICE),
        ((E.REFUND_ISSUED, SERVICE, {"amount": "1.00"}), D.FINANCE),
        ((E.TASK_COMPLETED, WAREHOUSE, {"kind": "inform_backorder"}), D.SALES),
    ],
)
def test_a_staff_event_by_a_department_not_allowed_that_action_is_found(step, owner):
    events = story(RECEIVED_PAID, step)
    findings = check_order("O1", events)
    wrong = [f for f in findings if f.rule is Rule.ACTOR_NOT_PERMITTED]
    assert [(f.seq, f.department) for f in wrong] == [(2, owner)]


def test_the_workflow_itself_may_record_any_step_and_the_right_departments_pass():
    refund_by_system = (E.REFUND_ISSUED, SYSTEM_ACTOR, {"amount": "10.00"})
    cancel_by_system = (E.CANCELLED, SYSTEM_ACTOR, {"paid": False})
    inform = (E.TASK_COMPLETED, SALES, {"kind": "inform_backorder"})
    tracking = (E.TRACKING, LOGISTICS, {"event": "in_transit"})
    events = story(RECEIVED_PAID, APPROVED, inform, refund_by_system, tracking, cancel_by_system)
    assert [f for f in check_order("O1", events) if f.rule is Rule.ACTOR_NOT_PERMITTED] == []


def test_case_events_are_judged_by_the_kind_of_case_they_belong_to():
    opened = (E.CASE_OPENED, SERVICE, {"kind": "return"}, {"case_id": "C1"})
    decided_by_warehouse = (E.CASE_DECIDED, WAREHOUSE, {"approved": True}, {"case_id": "C1"})
    inspected = (E.RETURN_INSPECTED, WAREHOUSE, {"quality_confirmed": True}, {"case_id": "C1"})
    events = story(RECEIVED_PAID, opened, decided_by_warehouse, inspected)
    assert rules_found(events) == [("actor_not_permitted", 3)]


def test_an_order_not_handed_over_by_the_platform_is_found():
    by_sales = (E.RECEIVED, SALES, {"lines": 1, "total": "1.00", "payment": "unpaid"})
    assert rules_found(story(by_sales)) == [("actor_not_permitted", 1)]


def test_an_overdue_task_must_be_escalated_after_it_went_overdue():
    overdue = (E.TASK_OVERDUE, SYSTEM_ACTOR, {"due_at": "x"}, {"task_id": "O1-T1"})
    escalated = (E.TASK_ESCALATED, SYSTEM_ACTOR, {"to": "sales_lead"}, {"task_id": "O1-T1"})
    other = (E.TASK_ESCALATED, SYSTEM_ACTOR, {"to": "warehouse_lead"}, {"task_id": "O1-T2"})
    assert rules_found(story(RECEIVED_PAID, overdue, escalated)) == []
    assert rules_found(story(RECEIVED_PAID, escalated, overdue)) == [("overdue_not_escalated", 3)]
    findings = check_order("O1", story(RECEIVED_PAID, overdue, other))
    assert [(f.rule, f.seq, f.department) for f in findings] == [
        (Rule.OVERDUE_NOT_ESCALATED, 2, D.SUPERVISION)
    ]


def test_every_event_mapped_to_an_action_names_an_action_of_the_matrix():
    assert set(ACTION_OF_EVENT.values()) <= set(ACTION_RULES)
    assert set(RULES) == set(Rule)
