"""The supervision rules over the read model (P8.1), as plain functions: rows in, lapses out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.actors import Department
from domain.states import OrderStatus
from domain.supervision import (
    EventRow,
    FeedbackRow,
    LapseRule,
    MoneyRow,
    OrderRow,
    ReadModelFacts,
    Severity,
    SupervisionSettings,
    TaskRow,
    backorders_past_eta,
    data_corrections,
    due_boundary,
    find_lapses,
    late_first_replies,
    late_tasks,
    ledger_gateway_mismatches,
    overdue_not_escalated,
    period_key,
    run_id_of,
    slow_refunds,
    steps_without_actor,
    stuck_in_status,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def task(
    *,
    state: str = "done",
    due: timedelta = H,
    closed: timedelta | None = timedelta(minutes=30),
    overdue: bool = False,
    escalated: bool = False,
    department: str = "sales",
) -> TaskRow:
    return TaskRow(
        task_id="O1-T1",
        order_id="O1",
        kind="review",
        department=department,
        state=state,
        due_at=T0 + due,
        closed_at=None if closed is None else T0 + closed,
        overdue=overdue,
        escalation_recorded=escalated,
    )


def event(seq: int, kind: str, status: str = "under_review", at: timedelta = H, **kw) -> EventRow:
    return EventRow(order_id="O1", seq=seq, at=T0 + at, kind=kind, status=status, **kw)


def test_a_late_first_reply_is_not_also_a_late_task():
    reply = TaskRow(
        task_id="feedback:F1-T1",
        order_id=None,
        kind="reply_feedback",
        department="customer_service",
        state="done",
        due_at=T0,
        closed_at=T0 + H,
        overdue=True,
        escalation_recorded=True,
    )
    assert late_tasks([reply]) == []


@pytest.mark.parametrize(
    ("row", "found"),
    [
        (task(closed=timedelta(minutes=30)), False),  # in time
        (task(closed=H), False),  # exactly at the deadline
        (task(closed=2 * H), True),  # an hour late
        (task(state="open", closed=None), False),  # not done yet: the overdue rule's
        (task(state="cancelled", closed=2 * H), False),  # cancelled, not done
    ],
)
def test_a_task_done_after_its_deadline_is_a_lapse_of_its_department(row: TaskRow, found: bool):
    lapses = late_tasks([row])
    assert bool(lapses) is found
    if found:
        [lapse] = lapses
        assert (lapse.rule, lapse.clause, lapse.severity) == (
            LapseRule.LATE_TASK,
            "P8.1",
            Severity.MEDIUM,
        )
        assert (lapse.department, lapse.order_id) == (Department.SALES, "O1")
        assert "60 min after its deadline" in lapse.message


@pytest.mark.parametrize(
    ("row", "now", "found"),
    [
        (task(state="open", closed=None, overdue=True), T0 + 2 * H, True),
        (task(state="open", closed=None, overdue=True, escalated=True), T0 + 2 * H, False),
        # Past due within the grace: the escalation may be on its way.
        (task(state="open", closed=None), T0 + H + timedelta(minutes=5), False),
        (task(state="open", closed=None), T0 + 2 * H, True),  # the timer never fired
        (task(closed=2 * H), T0 + 3 * H, True),  # done late, never escalated
        (task(closed=2 * H, escalated=True), T0 + 3 * H, False),
        (task(state="cancelled", closed=None, overdue=True), T0 + 3 * H, False),
    ],
)
def test_an_overdue_task_with_no_escalation_on_record_is_a_lapse(
    row: TaskRow, now: datetime, found: bool
):
    lapses = overdue_not_escalated([row], now, timedelta(minutes=10))
    assert bool(lapses) is found
    if found:
        assert lapses[0].department is Department.SUPERVISION
        assert lapses[0].severity is Severity.HIGH


@pytest.mark.parametrize(
    ("replied", "now", "found"),
    [
        (timedelta(hours=2), T0 + 48 * H, False),
        (timedelta(hours=30), T0 + 48 * H, True),
        (None, T0 + 12 * H, False),  # not due yet
        (None, T0 + 25 * H, True),  # due and no reply
    ],
)
def test_a_first_reply_after_p7_2s_deadline_is_a_lapse_of_customer_service(
    replied: timedelta | None, now: datetime, found: bool
):
    row = FeedbackRow(
        feedback_id="F1",
        order_id=None,
        received_at=T0,
        first_reply_due_at=T0 + 24 * H,
        first_reply_at=None if replied is None else T0 + replied,
    )
    lapses = late_first_replies([row], now)
    assert bool(lapses) is found
    if found:
        [lapse] = lapses
        assert (lapse.clause, lapse.department, lapse.order_id) == (
            "P7.2",
            Department.CUSTOMER_SERVICE,
            None,
        )
        assert lapse.subject == "feedback:F1"


def backordered(*events: EventRow, status: str = "out_of_stock") -> OrderRow:
    return OrderRow(order_id="O1", status=status, events=events)


ETA = (T0 + 24 * H).isoformat()
RECORDED = event(3, "backorder_recorded", data={"restock_eta": ETA})


@pytest.mark.parametrize(
    ("order", "now", "found"),
    [
        (
            backordered(event(3, "backorder_recorded", data={"restock_eta": ETA})),
            T0 + 12 * H,
            False,
        ),
        (backordered(RECORDED), T0 + 25 * H, True),
        # The warehouse recorded a new time since: that one counts.
        (
            backordered(
                event(3, "backorder_recorded", data={"restock_eta": ETA}),
                event(4, "backorder_recorded", data={"restock_eta": (T0 + 72 * H).isoformat()}),
            ),
            T0 + 25 * H,
            False,
        ),
        # Restocked: no longer out of stock.
        (
            backordered(
                event(3, "backorder_recorded", data={"restock_eta": ETA}), status="ready_to_pack"
            ),
            T0 + 25 * H,
            False,
        ),
    ],
)
def test_a_backorder_past_its_expected_restock_with_no_update_is_a_lapse_of_the_warehouse(
    order: OrderRow, now: datetime, found: bool
):
    lapses = backorders_past_eta([order], now)
    assert bool(lapses) is found
    if found:
        assert (lapses[0].clause, lapses[0].department) == ("P3.2", Department.WAREHOUSE)


def test_an_order_in_one_status_longer_than_its_setting_is_stuck_from_when_it_entered_it():
    order = OrderRow(
        order_id="O1",
        status="ready_to_pack",
        events=(
            event(1, "received", "under_review", at=timedelta(0)),
            event(2, "reviewed", "ready_to_pack", at=H),
            event(3, "task_claimed", "ready_to_pack", at=30 * H),
        ),
    )
    limits = {OrderStatus.READY_TO_PACK: timedelta(days=2)}
    assert stuck_in_status([order], T0 + 40 * H, limits) == []
    [lapse] = stuck_in_status([order], T0 + 50 * H, limits)
    assert (lapse.seq, lapse.department, lapse.at) == (2, Department.WAREHOUSE, T0 + 49 * H)
    assert stuck_in_status([order], T0 + 50 * H, {}) == []  # a status with no setting


@pytest.mark.parametrize(
    ("row", "found"),
    [
        (event(2, "reviewed", actor_id="S1", actor_department="sales"), False),
        (event(2, "reviewed"), True),
        (event(2, "packed", actor_id=""), True),
        (event(2, "stock_reserved"), False),  # the workflow's own step
    ],
)
def test_a_staff_step_recorded_without_its_actor_is_a_lapse(row: EventRow, found: bool):
    lapses = steps_without_actor([row])
    assert bool(lapses) is found
    if found:
        assert (lapses[0].clause, lapses[0].severity) == ("P6.1", Severity.HIGH)
        assert lapses[0].department in (Department.SALES, Department.WAREHOUSE)


def test_an_order_that_needed_corrections_goes_to_the_department_alerted():
    problems = [{"field": "payment.amount", "message": "x", "department": "sales"}]
    [lapse] = data_corrections([event(2, "intake_problems", data={"problems": problems})])
    assert (lapse.rule, lapse.clause, lapse.department) == (
        LapseRule.DATA_CORRECTED,
        "P2.2",
        Department.SALES,
    )
    assert "payment.amount" in lapse.message
    assert data_corrections([event(2, "corrected")]) == []


@pytest.mark.parametrize(
    ("events", "now", "found"),
    [
        # Paid at the first try: no request stands before it.
        ([event(5, "refund_issued", data={"refund_id": "R1"})], T0 + 99 * H, False),
        (
            [
                event(5, "refund_failed", data={"refund_id": "R1"}),
                event(6, "refund_issued", at=2 * H, data={"refund_id": "R1"}),
            ],
            T0 + 99 * H,
            False,
        ),
        (
            [
                event(5, "refund_failed", data={"refund_id": "R1"}),
                event(6, "refund_issued", at=80 * H, data={"refund_id": "R1"}),
            ],
            T0 + 99 * H,
            True,
        ),
        ([event(5, "refund_failed", data={"refund_id": "R1"})], T0 + 99 * H, True),  # unpaid
        ([event(5, "compensation_failed", data={"refund_id": "R1"})], T0 + 10 * H, False),
    ],
)
def test_a_refund_slower_than_the_setting_is_a_lapse_of_finance(
    events: list[EventRow], now: datetime, found: bool
):
    lapses = slow_refunds(events, now, timedelta(days=3))
    assert bool(lapses) is found
    if found:
        assert (lapses[0].clause, lapses[0].department) == ("P4.2, P5", Department.FINANCE)


def money(key: str, kind: str, amount: str, reference: str | None = None) -> MoneyRow:
    return MoneyRow(key, "O1", kind, Decimal(amount), T0, reference)


@pytest.mark.parametrize(
    ("ledger", "captures", "refunds", "subjects"),
    [
        ([money("O1:pay", "payment", "10.00", "TX1")], [money("TX1", "capture", "10.00")], [], []),
        ([], [money("TX1", "capture", "10.00")], [], ["capture:TX1"]),
        (
            [money("O1:pay", "payment", "9.00", "TX1")],
            [money("TX1", "capture", "10.00")],
            [],
            ["capture:TX1"],
        ),
        ([money("R1", "refund", "-4.00", "SIM-1")], [], [money("R1", "refund", "4.00")], []),
        ([], [], [money("R1", "refund", "4.00")], ["gateway-refund:R1"]),
        (
            [money("R1", "refund", "-3.00", "SIM-1")],
            [],
            [money("R1", "refund", "4.00")],
            ["gateway-refund:R1"],
        ),
        # Paid by bank transfer: the gateway never saw it, nothing to compare.
        ([money("R2", "refund", "-4.00", "BANK-1")], [], [], []),
    ],
)
def test_the_ledger_disagreeing_with_the_gateway_is_a_lapse_of_finance(
    ledger: list[MoneyRow], captures: list[MoneyRow], refunds: list[MoneyRow], subjects: list[str]
):
    lapses = ledger_gateway_mismatches(ledger, captures, refunds, T0 + 2 * H, H)
    assert [lapse.subject for lapse in lapses] == subjects
    assert all(lapse.clause == "P5.1" for lapse in lapses)


def test_a_payment_the_gateway_never_captured_is_a_lapse_of_finance_unless_cash():
    """The third security review: the platform reports money nobody took; supervision finds
    it (P5.1), and cash on delivery, which never passes the gateway, is not compared."""
    reported = [money("O1:payment:PE-1", "payment", "99999.00", "ATTACKER-TX")]
    [found] = ledger_gateway_mismatches(reported, [], [], T0 + 2 * H, H)
    assert (found.subject, found.department, found.clause) == (
        "payment:ATTACKER-TX",
        Department.FINANCE,
        "P5.1",
    )
    assert "captured nothing" in found.message and "99999.00" in found.message
    # Captured for another order is captured nothing for this one.
    elsewhere = MoneyRow("ATTACKER-TX", "O2", "capture", Decimal("99999.00"), T0)
    both = ledger_gateway_mismatches(reported, [elsewhere], [], T0 + 2 * H, H)
    assert {(lapse.order_id, lapse.subject) for lapse in both} == {
        ("O1", "payment:ATTACKER-TX"),
        ("O2", "capture:ATTACKER-TX"),  # and O2's capture, which its ledger lacks
    }
    assert ledger_gateway_mismatches(reported, [], [], T0 + 2 * H, H, frozenset({"O1"})) == []
    # Within the grace, not yet.
    assert ledger_gateway_mismatches(reported, [], [], T0 + H / 2, H) == []


def test_a_capture_not_yet_booked_within_the_grace_is_not_a_lapse_yet():
    capture = money("TX1", "capture", "10.00")
    assert ledger_gateway_mismatches([], [capture], [], T0 + timedelta(minutes=5), H) == []


def test_all_rules_together_most_severe_first_and_each_lapse_once():
    facts = ReadModelFacts(
        tasks=[task(closed=2 * H)],
        events=[
            event(2, "intake_problems", data={"problems": []}),
            event(3, "reviewed"),
            event(3, "reviewed"),
        ],
    )
    lapses = find_lapses(facts, T0 + 3 * H, SupervisionSettings())
    assert [(x.rule, x.severity) for x in lapses] == [
        (LapseRule.OVERDUE_TASK_NOT_ESCALATED, Severity.HIGH),
        (LapseRule.STEP_WITHOUT_ACTOR, Severity.HIGH),
        (LapseRule.LATE_TASK, Severity.MEDIUM),
        (LapseRule.DATA_CORRECTED, Severity.LOW),
    ]


def test_every_clean_fact_gives_no_lapse():
    facts = ReadModelFacts(tasks=[task()], events=[event(3, "reviewed", actor_id="S1")])
    assert find_lapses(facts, T0 + 3 * H, SupervisionSettings()) == []


WEEK = timedelta(days=7)
MONDAY_3 = timedelta(days=4, hours=3)


@pytest.mark.parametrize(
    ("now", "boundary"),
    [
        (datetime(2026, 12, 7, 3, 0, 0, tzinfo=UTC), datetime(2026, 12, 7, 3, tzinfo=UTC)),
        # A scheduled start a little late or (clock skew) a little early: the same run.
        (datetime(2026, 12, 7, 3, 0, 2, tzinfo=UTC), datetime(2026, 12, 7, 3, tzinfo=UTC)),
        (datetime(2026, 12, 7, 2, 59, 30, tzinfo=UTC), datetime(2026, 12, 7, 3, tzinfo=UTC)),
        # Started by hand mid-week: the last boundary (its period already run adds nothing).
        (datetime(2026, 12, 5, 1, 0, tzinfo=UTC), datetime(2026, 11, 30, 3, tzinfo=UTC)),
    ],
)
def test_a_run_belongs_to_the_scheduled_boundary_it_started_at(now: datetime, boundary: datetime):
    assert due_boundary(now, WEEK, MONDAY_3) == boundary
    assert boundary.weekday() == 0  # Monday


def test_a_period_key_names_the_boundary_and_the_length_and_makes_a_url_safe_run_id():
    key = period_key(datetime(2026, 12, 7, 3, tzinfo=UTC), WEEK)
    assert key == "2026-12-07T03:00Z/604800s"
    assert run_id_of(key).startswith("run-2026-12-07T03-00Z-604800s-")
    assert re.fullmatch(r"run-on-demand-abc-[0-9a-f]{8}", run_id_of("on-demand:abc"))
    # One run per period: keys that read alike still name different runs.
    ids = {run_id_of(f"on-demand:{key}") for key in ("a.b", "a_b", "a:b", "a-b")}
    assert len(ids) == 4
