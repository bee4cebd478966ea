"""The one place where refusals and failures become HTTP answers (api.md, Errors).

Every error body is `{"detail": "<sentence>", ...}`: 409s add the order's current
`status`, 422s add the `field` at fault and the full `errors` list.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from db.queries import InvalidCursor
from domain import errors as domain_errors

log = logging.getLogger("oms.api")

#: Domain refusal -> HTTP status. Subclasses inherit their parent's code.
HTTP_STATUS: dict[type[domain_errors.OrderError], int] = {
    domain_errors.NotPermitted: 403,
    domain_errors.NotFound: 404,
    domain_errors.ActionNotAllowed: 409,
    domain_errors.OrderError: 409,
}


class ApiError(Exception):
    """An answer other than success, with its body's extra fields."""

    def __init__(self, status_code: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.extra = extra


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def reason(code: str | None, params: Any) -> dict[str, Any]:
    """The body fields naming a refusal (`refusal`, `refusal_params`), when it has a code."""
    if not code:
        return {}
    return {"refusal": code, "refusal_params": params if isinstance(params, dict) else {}}


def forbidden(detail: str, *, code: str, params: dict[str, str | list[str]]) -> ApiError:
    """A 403 that names what it refuses (`refusal`, `refusal_params`), as a 409 does."""
    return ApiError(403, detail, **reason(code, params))


def conflict(
    detail: str,
    status: str | None,
    code: str | None = None,
    params: dict[str, str | list[str]] | None = None,
) -> ApiError:
    return ApiError(409, detail, status=status, **reason(code, params or {}))


def status_for(error_class: type[domain_errors.OrderError]) -> int:
    for cls in error_class.__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 409


def from_domain_error(error: domain_errors.OrderError) -> ApiError:
    """A refusal the API itself found with the domain's rules (no workflow involved)."""
    code = status_for(type(error))
    named = reason(error.code, error.params)
    if code == 409:
        return ApiError(409, error.message, status=error.status, **named)
    return ApiError(code, error.message, **named)


#: How the SDK answers an update whose arguments the workflow's code cannot read.
UNREADABLE_ARGUMENTS = "Failed decoding arguments"


def from_refusal(failure: ApplicationError) -> ApiError:
    """A workflow's refusal (raised in a validator or handler) as an HTTP answer."""
    if failure.message.startswith(UNREADABLE_ARGUMENTS):
        # The order runs on an earlier release's code (workflows/releases.py), which does
        # not know a field this request set: nothing was done.
        return ApiError(
            409,
            "this order runs on an earlier release, which does not take every field of "
            "this request; send it without the fields added since (docs/ops.md)",
            status=None,
            **reason(code="earlier_release_field", params={}),
        )
    error_class = domain_errors.error_type(failure.type or "") or domain_errors.OrderError
    details = failure.details[0] if failure.details else {}
    if not isinstance(details, dict):
        details = {}
    named = reason(details.get("code"), details.get("params"))
    code = status_for(error_class)
    if code == 409:
        return ApiError(409, failure.message, status=details.get("status"), **named)
    return ApiError(code, failure.message, **named)


def from_update_failure(error: WorkflowUpdateFailedError) -> ApiError:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return from_refusal(cause)
    return ApiError(500, "the order could not apply the action")


def is_not_found(error: RPCError) -> bool:
    return error.status == RPCStatusCode.NOT_FOUND


def is_closed(error: RPCError) -> bool:
    """The workflow exists but has finished: an update can no longer be applied."""
    return error.status == RPCStatusCode.NOT_FOUND and "already completed" in error.message


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, error: ApiError) -> JSONResponse:
        headers = {}
        if "retry_after" in error.extra:
            headers["Retry-After"] = str(max(1, math.ceil(float(error.extra["retry_after"]))))
        return JSONResponse(
            {"detail": error.detail, **error.extra}, status_code=error.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
            for e in error.errors()
        ]
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        return JSONResponse(
            {
                "detail": f"invalid {first['field']}: {first['message']}",
                "field": first["field"],
                "errors": errors,
            },
            status_code=422,
        )

    @app.exception_handler(InvalidCursor)
    async def _bad_cursor(_: Request, error: InvalidCursor) -> JSONResponse:
        return JSONResponse(
            {"detail": f"invalid cursor: {error}", "field": "cursor"}, status_code=422
        )

    @app.exception_handler(DBAPIError)
    async def _database_down(_: Request, error: DBAPIError) -> JSONResponse:
        # The read model is unreachable (restart, failover): nothing was changed; retry.
        return JSONResponse(
            {"detail": "the database is unavailable, try again"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError)
    async def _update_still_running(
        _: Request, error: WorkflowUpdateRPCTimeoutOrCancelledError
    ) -> JSONResponse:
        # The order is still applying the action; the same Idempotency-Key fetches its
        # outcome without acting twice.
        return JSONResponse(
            {
                "detail": "the order is still applying this action; retry with the same "
                "Idempotency-Key"
            },
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(RPCError)
    async def _temporal_down(_: Request, error: RPCError) -> JSONResponse:
        # Temporal is unreachable: an Idempotency-Key makes the retry safe.
        return JSONResponse(
            {"detail": "the order service is unavailable, try again"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(error, "headers", None) or {})
        if error.status_code == 405:
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        return JSONResponse(
            {"detail": error.detail}, status_code=error.status_code, headers=headers or None
        )


def allowed_methods(request: Request) -> str:
    """Every method the request's path takes, as the OpenAPI document lists them, for a
    405's `Allow` (RFC 9110). Starlette names only the methods of the first route whose path
    matched: a path with a GET and a POST route would answer `Allow: POST` to a PATCH."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = "[^/]+".join(re.escape(part) for part in re.split(r"\{[^/{}]+\}", template))
        if re.fullmatch(pattern, path):
            methods |= {method.upper() for method in operations if method in HTTP_METHODS}
    if "GET" in methods:
        methods.add("HEAD")  # Starlette answers HEAD wherever there is a GET
    return ", ".join(sorted(methods))


HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
