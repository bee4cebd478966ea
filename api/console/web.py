"""The console application, mounted by the API app under /console.

Its own FastAPI application so that the API's bearer-token dependency, exception
handlers (JSON) and OpenAPI schema stay the API's: the console answers in HTML, signs
people in with a session, and runs `access.gate` before every route. It shares the
API's state (database, Temporal client, settings, rate limiter) and the API's
middleware (the body size limit) through the app it is mounted in.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.console.access import ConsoleError, SignInRequired, app_state, gate
from api.console.pages import (
    dashboard,
    feedback,
    feedback_causes,
    inbox,
    orders,
    products,
    rectifications,
    scorecards,
    session,
    training,
)
from api.console.refusals import refusal_of
from api.console.render import STATIC, page, redirect
from api.console.sessions import Viewer, identify
from api.console.workflow_words import reason_text
from api.errors import ApiError

#: The console's pages, one router each.
PAGES = (
    session,
    inbox,
    orders,
    feedback,
    feedback_causes,
    dashboard,
    products,
    scorecards,
    training,
    rectifications,
)

#: Statuses the error page has its own words for; others are shown as "error".
KNOWN_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503})


async def _viewer(request: Request) -> Viewer:
    """The viewer, also for a request that failed before the gate ran (an unknown page)."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is None:
        viewer = await identify(request, app_state(request))
        request.state.viewer = viewer
    return viewer


def _status(code: int) -> int:
    return code if code in KNOWN_STATUSES else 500


async def _error_page(
    request: Request, status_code: int, key: str, params: dict[str, object], detail: str = ""
) -> Response:
    viewer = await _viewer(request)
    if "departments" in params and isinstance(params["departments"], list):
        names = [viewer.t(f"department.{d}") for d in params["departments"]]
        params = params | {"departments": viewer.t("common.list_separator").join(names)}
    if "department" in params:
        params = params | {"department": viewer.t(f"department.{params['department']}")}
    if "field" in params:
        params = params | {"field": viewer.t(f"filter.{params['field']}")}
    return page(
        request,
        "error.html",
        status_code=status_code,
        code=_status(status_code),
        message=viewer.t(key, **params),
        detail=detail,
    )


def install_handlers(console: FastAPI) -> None:
    @console.exception_handler(ConsoleError)
    async def _console_error(request: Request, error: ConsoleError) -> Response:
        response = await _error_page(request, error.status_code, error.key, dict(error.params))
        if error.status_code == 429 and "seconds" in error.params:
            response.headers["Retry-After"] = str(error.params["seconds"])
        return response

    @console.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> RedirectResponse:
        viewer = await _viewer(request)
        here = request.url.path
        if request.method == "GET" and request.url.query:
            here += "?" + request.url.query
        target = here if request.method == "GET" else f"{viewer.base}/inbox"
        return redirect(viewer, f"{viewer.base}/sign-in?next={quote(target, safe='/')}")

    @console.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> Response:
        # The API's reason (an order not found, a task already closed, a 503), in the
        # reader's language where the refusal has a code.
        key = f"error.status.{_status(error.status_code)}"
        code, params = refusal_of(error)
        detail = reason_text((await _viewer(request)).locale, code, params, error.detail)
        return await _error_page(request, error.status_code, key, {}, detail=detail)

    @console.exception_handler(RequestValidationError)
    async def _invalid(request: Request, _: RequestValidationError) -> Response:
        return await _error_page(request, 422, "error.status.422", {})

    @console.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        code = _status(error.status_code)
        return await _error_page(request, error.status_code, f"error.status.{code}", {})


def create_console(api: FastAPI) -> FastAPI:
    console = FastAPI(
        title="Order management console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(gate)],
        default_response_class=HTMLResponse,
    )
    console.state.api = api
    install_handlers(console)
    for module in PAGES:
        console.include_router(module.router)
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    return console
