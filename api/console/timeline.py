"""An order's timeline: who did what, and when, read from its workflow history.

The history is the order's own record (P6.1): every step's events stand in it with
their actors (`audit.timeline`), decrypted with the installation's keys. Should the
history be out of reach (Temporal restarting), the page falls back to the read model's
copy of the same events, as `GET /api/v1/orders/{id}` returns them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from temporalio.service import RPCError

from api.deps import AppState
from api.schemas import OrderPublic
from db.staff import StaffMember
from domain.ids import order_workflow_id
from domain.timeline import build_timeline
from workers.history import HistoryError, decode_history, order_history_from_server

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


async def order_timeline(
    state: AppState, staff: StaffMember, order: OrderPublic
) -> list[TimelineEntry]:
    """The order's timeline, oldest first."""
    try:
        history = await order_history_from_server(state.client, order_workflow_id(order.order_id))
        steps = build_timeline(await decode_history(history, state.client.data_converter)).steps
    except (RPCError, HistoryError):
        return recorded_timeline(order)
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
