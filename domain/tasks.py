"""Human tasks: every step a person must take opens one, with a department and a deadline.

A task is opened and closed by the order workflow; its deadline is a workflow
timer (a reminder at a fraction of it, an escalation when it passes). Closed
tasks with their times are what the on-time KPI (P8.2) is computed from.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Department
from domain.errors import Params


class TaskKind(StrEnum):
    CORRECT_ORDER = "correct_order"  # P2.2
    REVIEW = "review"  # P3.1
    RECORD_BACKORDER = "record_backorder"  # P3.2 warehouse: reason and restock ETA
    INFORM_BACKORDER = "inform_backorder"  # P3.2 sales tells the customer
    PACK = "pack"  # P3.3
    DISPATCH = "dispatch"  # P3.4
    DELIVER = "deliver"  # P3.4 promised delivery date, closed by the carrier's event
    REVIEW_CHANGE = "review_change"  # P4.1
    REPLAN_DELIVERY = "replan_delivery"  # P4.1 logistics re-plans after an address change
    EXPLAIN_REJECTION = "explain_rejection"  # P3.1 sales tells the customer why, resolves it
    PUT_BACK = "put_back"  # P4.2 a packed order cancelled: the warehouse unpacks and shelves it
    MANUAL_REFUND = "manual_refund"  # P4.2, P5: the gateway failed, finance refunds by hand
    CONTACT_CUSTOMER = "contact_customer"  # P5.1 customer service
    ACCOUNT_PAYMENT = "account_payment"  # P5.1 finance does the accounting
    RECONCILE_REMITTANCE = "reconcile_remittance"  # P2.1 cash on delivery late or short
    SEND_PAYMENT_REQUEST = "send_payment_request"  # P4.1 a dearer change: the customer pays
    HANDLE_LOGISTICS_EXCEPTION = "handle_logistics_exception"  # P5.2 customer service
    INVESTIGATE_LOGISTICS_EXCEPTION = "investigate_logistics_exception"  # P5.2 logistics
    REVIEW_RETURN = "review_return"  # P5.3 customer service
    INSPECT_RETURN = "inspect_return"  # P5.3 warehouse
    SUPPLIER_FOLLOW_UP = "supplier_follow_up"  # P5.3 sales
    ADJUST_ACCOUNTS = "adjust_accounts"  # P5.3 finance
    REPLY_FEEDBACK = "reply_feedback"  # P7.2 customer service
    SCHEDULE_SERVICE = "schedule_service"  # P1.2 logistics agrees a visit with the customer
    PERFORM_SERVICE = "perform_service"  # P1.2 logistics does the work, by the visit's end
    #: P3-P5: a message the channel could not deliver; customer service tells the customer.
    NOTIFY_CUSTOMER = "notify_customer"
    #: P8.1.3: a supervision finding to rectify, for the department answerable for it.
    RECTIFY = "rectify"


#: The department each kind of task belongs to (P1.2, P3-P7). CORRECT_ORDER is the
#: exception: it goes to the department that owns the faulty data (see domain.intake).
TASK_DEPARTMENT: dict[TaskKind, Department] = {
    TaskKind.CORRECT_ORDER: Department.CUSTOMER_SERVICE,
    TaskKind.REVIEW: Department.SALES,
    TaskKind.RECORD_BACKORDER: Department.WAREHOUSE,
    TaskKind.INFORM_BACKORDER: Department.SALES,
    TaskKind.PACK: Department.WAREHOUSE,
    TaskKind.DISPATCH: Department.LOGISTICS,
    TaskKind.DELIVER: Department.LOGISTICS,
    TaskKind.REVIEW_CHANGE: Department.CUSTOMER_SERVICE,
    TaskKind.REPLAN_DELIVERY: Department.LOGISTICS,
    TaskKind.PUT_BACK: Department.WAREHOUSE,
    TaskKind.EXPLAIN_REJECTION: Department.SALES,
    TaskKind.MANUAL_REFUND: Department.FINANCE,
    TaskKind.CONTACT_CUSTOMER: Department.CUSTOMER_SERVICE,
    TaskKind.ACCOUNT_PAYMENT: Department.FINANCE,
    TaskKind.RECONCILE_REMITTANCE: Department.FINANCE,
    TaskKind.SEND_PAYMENT_REQUEST: Department.CUSTOMER_SERVICE,
    TaskKind.HANDLE_LOGISTICS_EXCEPTION: Department.CUSTOMER_SERVICE,
    TaskKind.INVESTIGATE_LOGISTICS_EXCEPTION: Department.LOGISTICS,
    TaskKind.REVIEW_RETURN: Department.CUSTOMER_SERVICE,
    TaskKind.INSPECT_RETURN: Department.WAREHOUSE,
    TaskKind.SUPPLIER_FOLLOW_UP: Department.SALES,
    TaskKind.ADJUST_ACCOUNTS: Department.FINANCE,
    TaskKind.REPLY_FEEDBACK: Department.CUSTOMER_SERVICE,
    # P1.2: services are delivered by logistics, which already goes to customers' addresses.
    TaskKind.SCHEDULE_SERVICE: Department.LOGISTICS,
    TaskKind.PERFORM_SERVICE: Department.LOGISTICS,
    TaskKind.NOTIFY_CUSTOMER: Department.CUSTOMER_SERVICE,
    # P8.1.3: like CORRECT_ORDER, the department varies: the one a finding names
    # (domain/rectification.py opens the task with it).
    TaskKind.RECTIFY: Department.CUSTOMER_SERVICE,
}

#: Tasks whose work happens outside the system (a call, a letter, a booking): the
#: department closes them with a note through `POST /tasks/{id}/complete`.
NOTE_TASKS: frozenset[TaskKind] = frozenset(
    {
        TaskKind.INFORM_BACKORDER,
        TaskKind.REPLAN_DELIVERY,
        TaskKind.CONTACT_CUSTOMER,
        TaskKind.ACCOUNT_PAYMENT,
        TaskKind.RECONCILE_REMITTANCE,
        TaskKind.SEND_PAYMENT_REQUEST,
        TaskKind.PUT_BACK,
        TaskKind.EXPLAIN_REJECTION,
        # P5.3: sales' supplier_follow_up is closed by the supplier claim's end, not a note.
        TaskKind.ADJUST_ACCOUNTS,
        TaskKind.NOTIFY_CUSTOMER,
    }
)


class TaskState(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Task(BaseModel):
    """One human step. `revision` grows with every change so the read model keeps the newest."""

    model_config = ConfigDict(extra="forbid")

    task_id: str
    #: None for a task of no order (feedback not linked to an order, P7.2).
    order_id: str | None
    kind: TaskKind
    department: Department
    state: TaskState = TaskState.OPEN
    opened_at: datetime
    due_at: datetime
    remind_at: datetime
    reminded: bool = False
    overdue: bool = False
    escalated: bool = False
    assignee: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    outcome: str | None = None
    #: A short, non-personal description for the inbox ("2 lines, 3 units"), and the
    #: same by code and values for other languages (domain/summaries.py).
    summary: str = ""
    summary_code: str | None = None
    summary_params: Params = Field(default_factory=dict)
    #: Links a task to the case it belongs to (a change request, an exception, a return).
    case_id: str | None = None
    revision: int = 0

    @property
    def is_open(self) -> bool:
        return self.state is TaskState.OPEN

    @property
    def closed_on_time(self) -> bool | None:
        """None while open; else whether it closed by its deadline (the P8.2 on-time rate)."""
        if self.closed_at is None:
            return None
        return self.closed_at <= self.due_at
