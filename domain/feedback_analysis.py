"""Feedback analysis (P7.3.2): why customers complained, and where in the process it went wrong.

Customer service tags each piece of feedback it has resolved with a cause from a list the
supervision group keeps (`late_dispatch`, `wrong_item`...) and with the department, or the
step of the order's handling, responsible. The periodic report counts the causes of the
feedback resolved in a window, beside the window of equal length just before it (the
trend), and the departments they point at.

Pure: the default list, the steps and their departments, the windows and the report's
rows from counts. The tables are in `db/feedback_analysis_tables.py`, the SQL in
`db/feedback_causes.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import WORKING_DEPARTMENTS, Department
from domain.reports import ReportWindow, rate

#: A cause's code: what the report, the CSV and the tags carry (labels are per language).
CAUSE_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"


@dataclass(frozen=True)
class DefaultCause:
    code: str
    label_zh: str
    label_en: str


#: The list a fresh system starts with (written once, on the API's first start on an empty
#: list; supervision changes it from then on).
DEFAULT_CAUSES: tuple[DefaultCause, ...] = (
    DefaultCause("late_dispatch", "发货延迟", "Late dispatch"),
    DefaultCause("wrong_item", "发错商品", "Wrong item sent"),
    DefaultCause("damaged_in_transit", "运输途中损坏", "Damaged in transit"),
    DefaultCause("stock_shortage", "缺货", "Stock shortage"),
    DefaultCause("price_dispute", "价格争议", "Price dispute"),
    DefaultCause("rude_service", "服务态度差", "Rude service"),
    DefaultCause("slow_refund", "退款慢", "Slow refund"),
    DefaultCause("other", "其他", "Other"),
)


class OrderStep(StrEnum):
    """A step of an order's handling that feedback can point at, by the clause it follows."""

    INTAKE = "intake"  # P2.2 order data checked and corrected
    REVIEW = "review"  # P3.1
    STOCK = "stock"  # P3.2
    PACK = "pack"  # P3.3
    DISPATCH = "dispatch"  # P3.4
    DELIVERY = "delivery"  # P3.4 the carrier's part, up to the customer's door
    SERVICE_VISIT = "service_visit"  # P1.2
    CHANGE = "change"  # P4.1
    CANCELLATION = "cancellation"  # P4.2
    REFUND = "refund"  # P4.2, P5
    PAYMENT_EXCEPTION = "payment_exception"  # P5.1
    LOGISTICS_EXCEPTION = "logistics_exception"  # P5.2
    AFTER_SALES = "after_sales"  # P5.3 returns and exchanges
    CUSTOMER_SERVICE = "customer_service"  # P7.2 answering the customer


#: The department answerable for each step: the one a tag names when it names only the step.
STEP_DEPARTMENT: dict[OrderStep, Department] = {
    OrderStep.INTAKE: Department.CUSTOMER_SERVICE,
    OrderStep.REVIEW: Department.SALES,
    OrderStep.STOCK: Department.WAREHOUSE,
    OrderStep.PACK: Department.WAREHOUSE,
    OrderStep.DISPATCH: Department.LOGISTICS,
    OrderStep.DELIVERY: Department.LOGISTICS,
    OrderStep.SERVICE_VISIT: Department.LOGISTICS,
    OrderStep.CHANGE: Department.CUSTOMER_SERVICE,
    OrderStep.CANCELLATION: Department.CUSTOMER_SERVICE,
    OrderStep.REFUND: Department.FINANCE,
    OrderStep.PAYMENT_EXCEPTION: Department.FINANCE,
    OrderStep.LOGISTICS_EXCEPTION: Department.LOGISTICS,
    OrderStep.AFTER_SALES: Department.CUSTOMER_SERVICE,
    OrderStep.CUSTOMER_SERVICE: Department.CUSTOMER_SERVICE,
}

#: The departments a tag may hold responsible: those whose people handle orders.
RESPONSIBLE_DEPARTMENTS: tuple[Department, ...] = WORKING_DEPARTMENTS


class CauseTagRequest(BaseModel):
    """`PUT /api/v1/feedback/{id}/cause`: why the customer had reason to write, and who."""

    model_config = ConfigDict(extra="forbid")

    cause: str = Field(min_length=1, max_length=40)
    #: Responsible department; when left out, the step's department (STEP_DEPARTMENT).
    department: Department | None = None
    step: OrderStep | None = None
    note: str = Field(default="", max_length=1000)


class CauseTagProblem(ValueError):
    """A tag that cannot be kept as asked (a 422 naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def responsible_department(department: Department | None, step: OrderStep | None) -> Department:
    """The department a tag holds responsible: the one named, else the step's."""
    if department is None:
        if step is None:
            raise CauseTagProblem("department", "name the department or the step responsible")
        return STEP_DEPARTMENT[step]
    if department not in RESPONSIBLE_DEPARTMENTS:
        names = ", ".join(d.value for d in RESPONSIBLE_DEPARTMENTS)
        raise CauseTagProblem("department", f"the department responsible is one of {names}")
    return department


def previous_window(window: ReportWindow) -> ReportWindow:
    """The window of equal length that ends the day before `window` begins."""
    days = (window.last_day - window.first_day).days + 1
    return ReportWindow(
        window.first_day - timedelta(days=days),
        window.first_day - timedelta(days=1),
        window.utc_offset_hours,
    )


#: Counts of tags by (cause, department).
Counts = Mapping[tuple[str, str], int]

#: The report's columns: the cause, this window, the previous one, the change, this window's
#: share of the tagged feedback, then this window's count per responsible department.
CAUSE_COLUMNS: tuple[str, ...] = (
    "cause",
    "label_zh",
    "label_en",
    "active",
    "count",
    "previous_count",
    "change",
    "share",
    *(d.value for d in RESPONSIBLE_DEPARTMENTS),
)


@dataclass(frozen=True)
class CauseLabel:
    code: str
    label_zh: str
    label_en: str
    active: bool


def cause_rows(causes: list[CauseLabel], current: Counts, previous: Counts) -> list[dict[str, Any]]:
    """One row per cause (every active one, and a retired one still counted in either
    window): most frequent first, then the largest rise, then by code."""
    by_cause: dict[str, int] = {}
    before: dict[str, int] = {}
    departments: dict[str, dict[str, int]] = {}
    for (cause, department), n in current.items():
        by_cause[cause] = by_cause.get(cause, 0) + n
        per = departments.setdefault(cause, {})
        per[department] = per.get(department, 0) + n
    for (cause, _), n in previous.items():
        before[cause] = before.get(cause, 0) + n
    total = sum(by_cause.values())
    known = {c.code: c for c in causes}
    shown = [c.code for c in causes if c.active]
    shown += sorted((set(by_cause) | set(before)) - set(shown))
    rows: list[dict[str, Any]] = []
    for code in shown:
        label = known.get(code, CauseLabel(code, code, code, False))
        count, earlier = by_cause.get(code, 0), before.get(code, 0)
        per = departments.get(code, {})
        rows.append(
            {
                "cause": code,
                "label_zh": label.label_zh,
                "label_en": label.label_en,
                "active": label.active,
                "count": count,
                "previous_count": earlier,
                "change": count - earlier,
                "share": rate(count, total),
                **{d.value: per.get(d.value, 0) for d in RESPONSIBLE_DEPARTMENTS},
            }
        )
    rows.sort(key=lambda r: (-r["count"], -r["change"], r["cause"]))
    return rows


def department_rows(current: Counts, previous: Counts) -> list[dict[str, Any]]:
    """Per responsible department: the tags pointing at it in each window, and the change."""
    rows = []
    for department in RESPONSIBLE_DEPARTMENTS:
        count = sum(n for (_, d), n in current.items() if d == department.value)
        earlier = sum(n for (_, d), n in previous.items() if d == department.value)
        rows.append(
            {
                "department": department.value,
                "count": count,
                "previous_count": earlier,
                "change": count - earlier,
            }
        )
    return rows
