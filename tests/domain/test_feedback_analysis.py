"""Feedback analysis (P7.3.2) as plain functions: the department a tag holds responsible, the
previous window of equal length, and the report's rows from counts worked by hand."""

from __future__ import annotations

from datetime import date

import pytest

from domain.actors import Department
from domain.feedback_analysis import (
    CAUSE_COLUMNS,
    DEFAULT_CAUSES,
    STEP_DEPARTMENT,
    CauseLabel,
    CauseTagProblem,
    OrderStep,
    cause_rows,
    department_rows,
    previous_window,
    responsible_department,
)
from domain.reports import ReportWindow


def test_every_step_has_a_department_that_handles_orders():
    assert set(STEP_DEPARTMENT) == set(OrderStep)
    assert {d.value for d in STEP_DEPARTMENT.values()} <= {
        "sales", "warehouse", "logistics", "customer_service", "finance"
    }  # fmt: skip


def test_a_tag_naming_only_the_step_holds_the_steps_department_responsible():
    assert responsible_department(None, OrderStep.DISPATCH) is Department.LOGISTICS
    assert responsible_department(None, OrderStep.REVIEW) is Department.SALES
    # The department named stands, even against the step's usual one.
    assert responsible_department(Department.SALES, OrderStep.PACK) is Department.SALES


@pytest.mark.parametrize(
    ("department", "step"),
    [(None, None), (Department.SUPERVISION, None), (Department.PLATFORM, OrderStep.PACK)],
)
def test_a_tag_names_a_department_that_handles_orders_or_a_step(
    department: Department | None, step: OrderStep | None
):
    with pytest.raises(CauseTagProblem) as refused:
        responsible_department(department, step)
    assert refused.value.field == "department"


def test_the_previous_window_has_the_same_length_and_ends_the_day_before():
    window = ReportWindow(date(2026, 11, 1), date(2026, 11, 30), 8)
    before = previous_window(window)
    assert (before.first_day, before.last_day, before.utc_offset_hours) == (
        date(2026, 10, 2),
        date(2026, 10, 31),
        8,
    )
    one_day = previous_window(ReportWindow(date(2026, 12, 1), date(2026, 12, 1)))
    assert (one_day.first_day, one_day.last_day) == (date(2026, 11, 30), date(2026, 11, 30))
    assert before.end == window.start


def test_the_default_list_has_the_causes_the_supervisors_asked_for_with_both_labels():
    codes = [c.code for c in DEFAULT_CAUSES]
    assert codes == [
        "late_dispatch", "wrong_item", "damaged_in_transit", "stock_shortage",
        "price_dispute", "rude_service", "slow_refund", "other",
    ]  # fmt: skip
    assert all(c.label_zh and c.label_en for c in DEFAULT_CAUSES)


CAUSES = [
    CauseLabel("damaged_in_transit", "运输途中损坏", "Damaged in transit", True),
    CauseLabel("late_dispatch", "发货延迟", "Late dispatch", True),
    CauseLabel("wrong_item", "发错商品", "Wrong item sent", True),
    CauseLabel("price_dispute", "价格争议", "Price dispute", False),  # retired
]


def test_the_rows_worked_by_hand():
    """This window: late dispatch 3 (logistics 2, warehouse 1), wrong item 1 (warehouse);
    the previous: late dispatch 1, price dispute (retired since) 2."""
    current = {("late_dispatch", "logistics"): 2, ("late_dispatch", "warehouse"): 1}
    current |= {("wrong_item", "warehouse"): 1}
    previous = {("late_dispatch", "logistics"): 1, ("price_dispute", "sales"): 2}
    rows = cause_rows(CAUSES, current, previous)
    assert [tuple(r.keys()) for r in rows] == [CAUSE_COLUMNS] * 4
    shown = [(r["cause"], r["count"], r["previous_count"], r["change"], r["share"]) for r in rows]
    assert shown == [
        ("late_dispatch", 3, 1, 2, 0.75),
        ("wrong_item", 1, 0, 1, 0.25),
        ("damaged_in_transit", 0, 0, 0, 0.0),
        ("price_dispute", 0, 2, -2, 0.0),  # retired, still counted before: shown
    ]
    late = rows[0]
    assert (late["logistics"], late["warehouse"], late["sales"]) == (2, 1, 0)
    assert late["label_zh"] == "发货延迟" and late["active"] is True
    assert rows[3]["active"] is False

    by_department = {r["department"]: r for r in department_rows(current, previous)}
    assert (by_department["logistics"]["count"], by_department["logistics"]["change"]) == (2, 1)
    assert (by_department["warehouse"]["count"], by_department["warehouse"]["change"]) == (2, 2)
    assert (by_department["sales"]["count"], by_department["sales"]["change"]) == (0, -2)
    assert list(by_department) == ["sales", "warehouse", "logistics", "customer_service", "finance"]


def test_a_window_with_no_tags_has_every_active_cause_at_zero_and_no_share():
    rows = cause_rows(CAUSES, {}, {})
    assert [r["cause"] for r in rows] == ["damaged_in_transit", "late_dispatch", "wrong_item"]
    assert all(r["count"] == 0 and r["share"] is None for r in rows)


def test_a_cause_no_longer_on_the_list_is_shown_by_its_code():
    rows = cause_rows([], {("gone", "finance"): 1}, {})
    assert (rows[0]["cause"], rows[0]["label_en"], rows[0]["active"]) == ("gone", "gone", False)
