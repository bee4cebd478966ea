"""An order's timeline: who did what, and when.

Today it is the order's record as `GET /api/v1/orders/{id}` returns it (the read
model's events completed by those the live workflow recorded but not yet wrote).
`order_timeline` is the one function to change when the timeline comes from the
workflow history (`GET /api/v1/orders/{id}/history`) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.deps import AppState
from api.schemas import OrderPublic
from db.staff import StaffMember

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


def _facts(data: dict[str, object]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (key, str(value))
        for key, value in data.items()
        if key not in HIDDEN_FACTS and isinstance(value, str | int | float | bool) and value != ""
    )


async def order_timeline(
    state: AppState, staff: StaffMember, order: OrderPublic
) -> list[TimelineEntry]:
    """The order's timeline, oldest first.

    `state` and `staff` are what a call of the history route will need; the recorded
    events need nothing but the order already read.
    """
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
