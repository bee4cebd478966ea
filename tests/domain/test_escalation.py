"""P8.1: an escalation names its department and the role; earlier releases' events, which
named a made-up `<department>_lead`, read the same."""

from __future__ import annotations

import pytest

from domain.actors import Department
from domain.escalation import DEPARTMENTS_WITH_TASKS, addressed_to, escalated_department
from domain.events import EventKind
from domain.tasks import TASK_DEPARTMENT
from domain.timeline import OUTCOMES


def test_every_department_that_receives_tasks_needs_a_lead_and_only_those():
    assert set(TASK_DEPARTMENT.values()) <= set(DEPARTMENTS_WITH_TASKS)
    assert Department.SUPERVISION not in DEPARTMENTS_WITH_TASKS
    assert Department.PLATFORM not in DEPARTMENTS_WITH_TASKS


@pytest.mark.parametrize(
    "data",
    [
        {"to": "logistics leads", "department": "logistics", "role": "lead", "kind": "dispatch"},
        {"to": "logistics_lead", "kind": "dispatch"},  # r1, r2 and r3 before staff roles
    ],
)
def test_p8_1_an_escalation_event_of_either_shape_names_its_department(data):
    assert escalated_department(data) is Department.LOGISTICS
    assert OUTCOMES[EventKind.TASK_ESCALATED](data) == "escalated to the logistics leads"


def test_an_escalation_naming_no_known_department_reads_as_none():
    assert escalated_department({"to": "someone"}) is None
    assert escalated_department({}) is None
    assert addressed_to(Department.FINANCE) == "finance leads"
