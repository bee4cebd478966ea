"""The inbox: my department's open tasks, soonest due first; claim and release them.

A lead's inbox also lists the department's escalations first (P8.1: a task breached past
its deadline is escalated to the department's leads), naming the leads; members see an
escalated task's badge with the leads' names in the rows, as every inbox does.

Tasks come from the API's `GET /api/v1/tasks` route; claiming runs its
`POST /api/v1/tasks/{id}/claim` (and `unclaim`). A department that works tasks sees
its own; the supervision group and admins choose a department or see them all.
The page fetches its rows again every `OMS_CONSOLE__INBOX_REFRESH_SECONDS`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.console.access import admits, app_state, form_of, staff_of, viewer_of
from api.console.filters import choice
from api.console.forms import first
from api.console.render import page, redirect
from api.console.sessions import Viewer, local_path
from api.routes import escalations, tasks
from api.schemas import LeadPublic, TaskList, TaskPublic
from domain.actors import WORKING_DEPARTMENTS, Department
from domain.tasks import TASK_DEPARTMENT, TaskKind, TaskState

router = APIRouter()


def works_tasks(department: Department) -> bool:
    return department in WORKING_DEPARTMENTS


def kinds_for(department: Department | None) -> list[TaskKind]:
    return [k for k in TaskKind if department is None or TASK_DEPARTMENT[k] is department]


def may_claim(viewer: Viewer, task: TaskPublic) -> bool:
    """The claim button: the role matrix admits it, and the task is of my department."""
    staff = viewer.staff
    return (
        staff is not None
        and task.department is staff.department
        and admits(staff.department, tasks.claim_task)
    )


async def _tasks(request: Request, params: dict[str, str]) -> tuple[dict[str, Any], TaskList]:
    staff = staff_of(request)
    own = works_tasks(staff.department)
    department = staff.department if own else choice(Department, params["department"], "department")
    kind = choice(TaskKind, params["kind"], "kind")
    overdue = {"yes": True, "no": False}.get(params["overdue"])
    assignee = staff.staff_id if params["assignee"] == "mine" else None
    listed = await tasks.list_tasks(
        staff,
        app_state(request),
        department=department,
        kind=kind,
        assignee=assignee,
        overdue=overdue,
        task_state=TaskState.OPEN,
        limit=50,
        cursor=params["cursor"] or None,
    )
    filters = {
        "own_department": own,
        "department": department.value if department else "",
        "departments": [] if own else list(Department),
        "kinds": kinds_for(department),
        "chosen": params,
    }
    return filters, listed


@dataclass
class InboxQuery:
    """The inbox's filters, from the query string (empty: any)."""

    department: str = ""
    kind: str = ""
    assignee: str = ""
    overdue: str = ""
    cursor: str = ""

    def filters(self) -> str:
        """The query string of the filters (without the page cursor)."""
        return urlencode({k: v for k, v in asdict(self).items() if v and k != "cursor"})


Filters = Annotated[InboxQuery, Depends()]


@dataclass
class Escalations:
    """What a lead's inbox shows of the department's escalations (P8.1)."""

    tasks: list[TaskPublic]
    leads: list[LeadPublic]


async def _escalations(request: Request) -> Escalations | None:
    """The department's open escalations, for a lead of a department that works tasks."""
    staff = staff_of(request)
    if not (staff.is_lead and works_tasks(staff.department)):
        return None
    state = app_state(request)
    listed = await tasks.list_tasks(
        staff,
        state,
        department=staff.department,
        escalated=True,
        task_state=TaskState.OPEN,
        limit=50,
    )
    return Escalations(listed.items, await escalations.leads_of(state, staff.department))


async def _inbox(request: Request, query: InboxQuery, template: str) -> HTMLResponse:
    params = asdict(query)
    filters, listed = await _tasks(request, params)
    viewer = viewer_of(request)
    # The rows alone (the page's refresh) leave the lead's section as it was.
    lead_view = await _escalations(request) if template == "inbox.html" else None
    here = f"{viewer.base}/inbox"
    more = urlencode(params | {"cursor": listed.next_cursor}) if listed.next_cursor else ""
    return page(
        request,
        template,
        filters=filters,
        tasks=listed.items,
        more_url=f"{here}?{more}" if more else "",
        here=f"{here}?{query.filters()}" if query.filters() else here,
        rows_url=f"{here}/rows?{urlencode(params)}",
        may_claim=lambda task: may_claim(viewer, task),
        escalations=lead_view,
    )


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, query: Filters) -> HTMLResponse:
    return await _inbox(request, query, "inbox.html")


@router.get("/inbox/rows", response_class=HTMLResponse)
async def inbox_rows(request: Request, query: Filters) -> HTMLResponse:
    """The inbox's rows alone, for the page to refresh itself."""
    return await _inbox(request, query, "inbox_rows.html")


async def _assign(request: Request, task_id: str, claim: bool) -> RedirectResponse:
    viewer = viewer_of(request)
    staff = staff_of(request)
    state = app_state(request)
    key = first(form_of(request), "idempotency_key") or None
    if claim:
        await tasks.claim_task(task_id, staff, state, key)
    else:
        await tasks.unclaim_task(task_id, staff, state, key)
    return redirect(viewer, local_path(viewer, first(form_of(request), "next")))


@router.post("/tasks/{task_id}/claim")
async def claim(request: Request, task_id: str) -> RedirectResponse:
    return await _assign(request, task_id, claim=True)


@router.post("/tasks/{task_id}/unclaim")
async def unclaim(request: Request, task_id: str) -> RedirectResponse:
    return await _assign(request, task_id, claim=False)
