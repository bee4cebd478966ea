"""An order's timeline: who did what, and when.

The workflow history is the order's own record (P6.1): every step's events stand in
it with their actors (`audit.timeline`), decrypted with the installation's keys. The
API serves it as `GET /api/v1/orders/{id}/history` to the departments the role matrix
admits there (supervision, admin), and the console shows it to the same departments,
by the same rule (`api/roles.py`). Everyone else sees the order's events as
`GET /api/v1/orders/{id}` gives them (its `events`), and so does an auditor when the
history is out of reach (Temporal restarting). The page says which one it shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from api.console.endpoints import admits_route
from api.deps import AppState
from api.errors import ApiError
from api.routes.history import order_history
from api.schemas import OrderPublic
from db.staff import StaffMember
from domain.timeline import TimelineStep

#: Facts of an event shown beside it; ids of the event's own task or case are shown apart.
HIDDEN_FACTS = frozenset({"task_id", "case_id", "kind"})


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    #: The event's kind (`reviewed`, `packed`...): the page names it in the viewer's language.
    kind: str
    #: The order's status after it.
    status: str
    actor_id: str | None
    actor_department: str | None
    note: str
    task_id: str | None
    case_id: str | None
    #: Plain facts recorded with it (`carrier: SF Express`), in the record's own words.
    facts: tuple[tuple[str, str], ...]


def _facts(data: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (key, str(value))
        for key, value in data.items()
        if key not in HIDDEN_FACTS and isinstance(value, str | int | float | bool) and value != ""
    )


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    #: "history" (the workflow history, the audit record) or "record" (the order's events).
    source: str


def shows_history(staff: StaffMember) -> bool:
    """The role matrix's rule for `GET /api/v1/orders/{id}/history`, for this member."""
    return admits_route(staff.department, order_history)


async def order_timeline(state: AppState, staff: StaffMember, order: OrderPublic) -> Timeline:
    """The order's timeline, oldest first, from the history where the member may read it."""
    if not shows_history(staff):
        return Timeline(recorded_timeline(order), "record")
    try:
        # The API's own route, as the console runs every other one.
        audit = await order_history(order.order_id, staff, state)
    except ApiError:  # the history is out of reach (503) or not there yet (404)
        return Timeline(recorded_timeline(order), "record")
    return Timeline(history_entries(audit.steps), "history")


def history_entries(steps: list[TimelineStep]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at=step.at,
            kind=step.kind.value,
            status=step.status.value,
            actor_id=step.actor_id,
            actor_department=step.department,
            note=step.note,
            task_id=step.task_id,
            case_id=step.case_id,
            facts=_facts(step.data),
        )
        for step in steps
    ]


def recorded_timeline(order: OrderPublic) -> list[TimelineEntry]:
    """The same steps from the read model's record of the order."""
    return [
        TimelineEntry(
            at=event.at,
            kind=event.kind,
            status=event.status,
            actor_id=event.actor_id,
            actor_department=event.actor_department,
            note=event.note,
            task_id=event.task_id,
            case_id=event.case_id,
            facts=_facts(event.data),
        )
        for event in order.events
    ]
