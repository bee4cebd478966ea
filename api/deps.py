"""Request dependencies: the process's shared state and the member of staff behind a request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from temporalio.client import Client

from api.errors import ApiError
from db import staff as staff_store
from db.engine import Database
from db.staff import StaffMember
from domain.actions import ACTION_RULES, Action
from domain.actors import Department
from oms.settings import Settings


@dataclass
class AppState:
    settings: Settings
    db: Database
    client: Client


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.oms
    return state


State = Annotated[AppState, Depends(get_state)]


def current_staff(
    request: Request, state: State, authorization: Annotated[str | None, Header()] = None
) -> StaffMember:
    """The member of staff whose bearer token this is (401 when there is none or it is dead)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "a bearer token is required")
    with state.db.read() as conn:
        member = staff_store.find_by_token(conn, token.strip())
    if member is None or not member.is_valid(datetime.now(UTC)):
        raise ApiError(401, "unknown, expired or revoked token")
    request.scope["oms.actor"] = member.actor  # for the access log (api/metrics.py)
    return member


CurrentStaff = Annotated[StaffMember, Depends(current_staff)]


def require(*departments: Department) -> Callable[[StaffMember], StaffMember]:
    """A dependency admitting only these departments (403 for the others)."""
    allowed = frozenset(departments)

    def check(member: CurrentStaff) -> StaffMember:
        if member.department not in allowed:
            names = ", ".join(sorted(d.value for d in allowed))
            raise ApiError(403, f"this is for {names}, not {member.department.value}")
        return member

    return check


def may_take(action: Action) -> Callable[[StaffMember], StaffMember]:
    """A dependency admitting the departments that domain.actions allows to take `action`."""
    return require(*ACTION_RULES[action].departments)
