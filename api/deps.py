"""Request dependencies: the process's shared state and the member of staff behind a request."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from temporalio.client import Client

from api.errors import ApiError
from db import staff as staff_store
from db.engine import Database
from db.staff import StaffMember
from domain.actions import ACTION_RULES, Action
from domain.actors import Department
from oms.settings import Settings


class TokenCache:
    """Members already looked up by token, trusted for `seconds` (0: no cache).

    Saves a database read per request. The price is that a revoked or rotated
    token keeps working in this process for at most `seconds`; an expiry date is
    still checked on every request.
    """

    #: Beyond this many tokens the cache starts afresh (a bound, not an LRU: staff are few).
    LIMIT = 10_000

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[float, StaffMember]] = {}

    def get(self, token: str) -> StaffMember | None:
        entry = self._entries.get(staff_store.hash_token(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, member: StaffMember) -> None:
        if self.seconds <= 0:
            return
        if len(self._entries) >= self.LIMIT:
            self._entries.clear()
        self._entries[staff_store.hash_token(token)] = (time.monotonic() + self.seconds, member)


@dataclass
class AppState:
    settings: Settings
    db: Database
    client: Client
    tokens: TokenCache = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = TokenCache(self.settings.api_token_cache_seconds)


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency on
# its thread pool, a hop that costs more than the work itself on every request.
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.oms
    return state


State = Annotated[AppState, Depends(get_state)]


async def current_staff(
    state: State, authorization: Annotated[str | None, Header()] = None
) -> StaffMember:
    """The member of staff whose bearer token this is (401 when there is none or it is dead)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "a bearer token is required")
    member = state.tokens.get(token)
    if member is None:

        def look_up() -> StaffMember | None:
            with state.db.read() as conn:
                return staff_store.find_by_token(conn, token)

        member = await run_in_threadpool(look_up)
        if member is not None:
            state.tokens.put(token, member)
    if member is None or not member.is_valid(datetime.now(UTC)):
        raise ApiError(401, "unknown, expired or revoked token")
    return member


CurrentStaff = Annotated[StaffMember, Depends(current_staff)]


def require(*departments: Department) -> Callable[[StaffMember], Awaitable[StaffMember]]:
    """A dependency admitting only these departments (403 for the others)."""
    allowed = frozenset(departments)

    async def check(member: CurrentStaff) -> StaffMember:
        if member.department not in allowed:
            names = ", ".join(sorted(d.value for d in allowed))
            raise ApiError(403, f"this is for {names}, not {member.department.value}")
        return member

    return check


def may_take(action: Action) -> Callable[[StaffMember], Awaitable[StaffMember]]:
    """A dependency admitting the departments that domain.actions allows to take `action`."""
    return require(*ACTION_RULES[action].departments)
