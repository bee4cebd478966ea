"""Request dependencies: the process's shared state, and who is calling.

`authorize` runs before every route (an app-level dependency): it finds the route's
rule in the role matrix (`api/roles.py`; no rule, no entry), authenticates the bearer
token (401), applies the caller's rate limit (429) and checks the department (403).
Routes then get the caller as `CurrentStaff`. A public route (no token: /healthz,
/metrics) is limited per client address instead (`admit_address`), as are the
console's pages reachable without a session (api/console/access.py).
"""

from __future__ import annotations

import functools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BeforeValidator, TypeAdapter, ValidationError
from temporalio.client import Client

from api.errors import ApiError
from api.limits import RateLimiter
from api.roles import rule_for
from config.carrier_secrets import SecretCache
from config.settings import Settings
from db import staff as staff_store
from db.engine import Database
from db.queries import CURSOR_PATTERN
from db.staff import StaffMember


class TokenCache:
    """Members already looked up by token, trusted for `seconds` (0: no cache).

    Saves a database read per request. The price is that a revoked or rotated
    token keeps working in this process for at most `seconds`
    (OMS_API_TOKEN_CACHE_SECONDS); an expiry date is still checked on every request.
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
    #: Per member of staff (a token or a console session).
    limiter: RateLimiter
    tokens: TokenCache = field(init=False)
    #: Per client address, for what is reachable without a token or a session.
    address_limiter: RateLimiter = field(init=False)
    #: The carriers' callback secrets, read again only when their file changes.
    carrier_secrets: SecretCache = field(init=False)
    #: When the callback route last cleared signatures too old to replay (monotonic s).
    callbacks_pruned_at: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.tokens = TokenCache(self.settings.api_token_cache_seconds)
        self.carrier_secrets = SecretCache(self.settings)
        self.address_limiter = RateLimiter(
            self.settings.public_rate_limit_per_second, self.settings.public_rate_limit_burst
        )


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: what uvicorn's
    `--forwarded-allow-ips` lets the proxy's `X-Forwarded-For` say)."""
    return request.client.host if request.client else "unknown"


def admit_address(request: Request, state: AppState) -> float:
    """Charge one request without a token to its client address: 0 when it may go on,
    else the seconds until it may (the caller answers 429 with Retry-After)."""
    return state.address_limiter.admit(client_address(request))


def temporal_ui_link(state: AppState, workflow_id: str) -> str:
    """A workflow in the Temporal UI (the API gives it only to departments that may decode)."""
    settings = state.settings
    return (
        f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{workflow_id}"
    )


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.oms
    return state


State = Annotated[AppState, Depends(get_state)]

#: The client's key for an action: the same key twice acts once (api.md, Idempotency).
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def _in_utc(value: datetime) -> datetime:
    """A time from a query: without a zone it is UTC; one UTC cannot hold is refused (422)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range once in UTC") from None


#: What pydantic would read as a Unix time in a date or time parameter.
_A_NUMBER = re.compile(r"\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*")


def _written_out(value: Any) -> Any:
    """A day or a time in a query is written out (ISO 8601), as the OpenAPI document says
    (`format: date-time`, `date`): pydantic alone would also read `0.5` as a Unix time."""
    if isinstance(value, int | float) or (isinstance(value, str) and _A_NUMBER.fullmatch(value)):
        raise ValueError("write it out in ISO 8601 (2026-11-27 or 2026-11-27T08:00:00+08:00)")
    return value


#: A time in a query string (`created_from=2026-11-27T08:00:00+08:00`), as UTC.
QueryTime = Annotated[datetime, BeforeValidator(_written_out), AfterValidator(_in_utc)]
#: A day in a query string (`from=2026-11-27`).
QueryDate = Annotated[date, BeforeValidator(_written_out)]


#: A page's cursor, as the page before answered it (`next_cursor`): a pattern, so that the
#: OpenAPI document says which cursors are taken (db/queries.py).
Cursor = Annotated[
    str | None,
    Query(
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the page before; without it, the first page",
    ),
]


#: Declared as the API's security scheme (OpenAPI); checked by `authorize`, not by FastAPI.
bearer = HTTPBearer(auto_error=False, description="a staff token (`oms staff add`)")


def authenticate(db: Database, token: str | None) -> StaffMember:
    """The member of staff whose bearer token this is (401 when there is none or it is dead)."""
    if not token or not token.strip():
        raise ApiError(401, "a bearer token is required")
    with db.read() as conn:
        member = staff_store.find_by_token(conn, token.strip())
    if member is None or not member.is_valid(datetime.now(UTC)):
        raise ApiError(401, "unknown, expired or revoked token")
    return member


async def authorize(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> None:
    route = request.scope.get("route")
    rule = rule_for(request.method, getattr(route, "path", ""))
    if rule is None:
        raise ApiError(403, "no access rule covers this endpoint")
    if rule.public:
        wait = admit_address(request, state)
        if wait:
            raise ApiError(429, "too many requests from this address", retry_after=round(wait, 2))
        return
    token = (credentials.credentials if credentials else "").strip()
    member = state.tokens.get(token) if token else None
    if member is None or not member.is_valid(datetime.now(UTC)):
        member = await run_in_threadpool(authenticate, state.db, token)
        state.tokens.put(token, member)
    wait = state.limiter.admit(member.staff_id)
    if wait:
        raise ApiError(429, "too many requests for this token", retry_after=round(wait, 2))
    assert rule.departments is not None
    if member.department not in rule.departments:
        names = ", ".join(sorted(d.value for d in rule.departments))
        raise ApiError(403, f"this is for {names}, not {member.department.value}")
    if not rule.admits(member.department, lead=member.is_lead):
        raise ApiError(403, f"this is for the leads of {member.department.value}")
    request.state.staff = member
    request.scope["oms.actor"] = member.actor  # for the access log (api/metrics.py)


def _whole_numbers_as_integers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers_as_integers(v) for v in value]
    if isinstance(value, dict):
        return {k: _whole_numbers_as_integers(v) for k, v in value.items()}
    return value


@functools.cache
def _cached_reader(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _json_reader(annotation: Any) -> TypeAdapter[Any]:
    """The JSON reading of a route's body type, made once per type (that can be a key)."""
    try:
        return _cached_reader(annotation)
    except TypeError:  # unhashable
        return TypeAdapter(annotation)


def _declared_query(request: Request, route: Any) -> frozenset[str]:
    """The query parameters the OpenAPI document declares for the request's operation
    (kept per app, made once per operation)."""
    known: dict[tuple[str, str], frozenset[str]] | None = getattr(
        request.app.state, "declared_queries", None
    )
    if known is None:
        known = request.app.state.declared_queries = {}
    key = (request.method.lower(), getattr(route, "path", ""))
    if key not in known:
        operation = request.app.openapi()["paths"].get(key[1], {}).get(key[0], {})
        known[key] = frozenset(
            p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"
        )
    return known[key]


async def as_declared(request: Request) -> None:
    """A request is read as the OpenAPI document declares it (issue 17).

    A query parameter the operation does not declare is refused (422 naming it), as an
    unknown field of a body is: the parameters listed are all there is, and a misspelt
    filter does not quietly list everything.

    FastAPI validates a body in pydantic's lax mode, which also takes `0` for `false`,
    `true` for an integer and `"5"` for a number: values the document's types refuse. This
    reads the body first in strict JSON mode (a JSON string is still a date, a time, an
    amount or an enum's value), a number without a fraction (`2.0`) being the integer JSON
    Schema says it is; what it refuses is a 422 like any invalid body.
    """
    route = request.scope.get("route")
    if route is None:
        return
    unknown = sorted(set(request.query_params) - _declared_query(request, route))
    if unknown:
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": "not a parameter here", "type": "extra_forbidden"}
                for name in unknown
            ]
        )
    body_field = getattr(route, "body_field", None)
    if body_field is None or "json" not in request.headers.get("content-type", "json"):
        return
    raw = await request.body()
    if not raw:
        return  # FastAPI says what is missing
    reader = _json_reader(body_field.field_info.annotation)
    try:
        body = json.dumps(_whole_numbers_as_integers(json.loads(raw)))
    except ValueError:
        return  # not JSON: FastAPI says so
    try:
        reader.validate_json(body, strict=True)
    except ValidationError as invalid:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in invalid.errors(include_url=False)]
        ) from None


def current_staff(request: Request) -> StaffMember:
    member: StaffMember | None = getattr(request.state, "staff", None)
    if member is None:  # only a public route could get here, and none asks for a caller
        raise ApiError(401, "a bearer token is required")
    return member


CurrentStaff = Annotated[StaffMember, Depends(current_staff)]
