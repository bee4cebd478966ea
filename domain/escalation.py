"""Whom a breached task is escalated to: the leads of its department (P8.1, api.md Staff roles).

The workflow cannot read the staff table (it is deterministic), so the escalation names
the department and the role, not people: the `task_escalated` event's data is
`{"to": "<department> leads", "department": ..., "role": "lead", "kind": ...}`. The read
side (the API's escalations and task inboxes, the console) resolves the department's
leads by name from the staff table when it shows them (db/staff.py `leads_of`).

Releases before staff roles (r1, r2, and r3 histories recorded before this change)
wrote `{"to": "<department>_lead", "kind": ...}`; `escalated_department` reads both.

Every department that receives tasks must have a lead, or its escalations would reach
no one: the API refuses to start without (db/staff.py `require_leads`).
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.actors import Department, StaffRole
from domain.tasks import TASK_DEPARTMENT, Task

#: The departments that receive tasks, so whose breached tasks are escalated: every
#: department of the task table, and sales and customer service, who get the intake's
#: `correct_order` tasks by the field at fault (domain/intake.py). In `Department` order.
DEPARTMENTS_WITH_TASKS: tuple[Department, ...] = tuple(
    d
    for d in Department
    if d in set(TASK_DEPARTMENT.values()) | {Department.SALES, Department.CUSTOMER_SERVICE}
)

#: The suffix of the made-up recipient that releases before staff roles named.
_OLD_SUFFIX = "_lead"


def addressed_to(department: Department) -> str:
    """The escalation's recipient, as the event and the API's `to` say it."""
    return f"{department.value} leads"


def escalation_data(task: Task) -> dict[str, str]:
    """The data of the `task_escalated` event of a breached task (P8.1)."""
    return {
        "to": addressed_to(task.department),
        "department": task.department.value,
        "role": StaffRole.LEAD.value,
        "kind": task.kind.value,
    }


def escalated_department(data: Mapping[str, object]) -> Department | None:
    """The department whose leads an escalation event went to, in either shape (None if the
    data names none this code knows)."""
    named = data.get("department")
    if not isinstance(named, str):
        to = data.get("to")
        named = to.removesuffix(_OLD_SUFFIX) if isinstance(to, str) else None
    try:
        return Department(named) if named else None
    except ValueError:
        return None
