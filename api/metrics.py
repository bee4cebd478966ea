"""The API's Prometheus metrics and access log: requests, latency and errors by route template.

`GET /metrics` serves, in the Prometheus text format (no staff token; with
`OMS_METRICS_TOKEN` set, that token as `Authorization: Bearer`, else 401):

- `oms_http_requests_total{method, route, status}`
- `oms_http_request_duration_seconds{method, route}` (histogram)
- `oms_http_errors_total{method, route, status}`: answers of 400 and above

`route` is the path template (`/api/v1/orders/{order_id}`), never the raw path,
so that the number of series stays bounded. Every request also writes one
access-log record with the client's address (`client`; behind a proxy, the address
uvicorn's `--forwarded-allow-ips` lets the proxy report), and the order id and the
actor when the route names them.
The worker's own metrics (Temporal SDK, orders by outcome) are on the worker's
endpoint (`OMS_WORKER_METRICS_ADDRESS`).
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError

access_log = logging.getLogger("oms.api.access")

#: Seconds; an action waits for the workflow's answer, so the upper buckets matter.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"


def _labels(**labels: str) -> str:
    escaped = (
        (k, v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
        for k, v in labels.items()
    )
    return "{" + ",".join(f'{k}="{v}"' for k, v in escaped) + "}"


class HttpMetrics:
    """Counters and a latency histogram, kept in memory; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._errors: dict[tuple[str, str, str], int] = defaultdict(int)
        self._buckets: dict[tuple[str, str], list[int]] = {}
        self._sums: dict[tuple[str, str], float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        with self._lock:
            self._requests[key] += 1
            if status >= 400:
                self._errors[key] += 1
            counts = self._buckets.setdefault((method, route), [0] * (len(BUCKETS) + 1))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1  # +Inf, which is also the count
            self._sums[(method, route)] += seconds

    def render(self) -> str:
        with self._lock:
            lines = _counter(
                "oms_http_requests_total",
                "HTTP requests answered, by route and status.",
                self._requests,
            )
            lines += _counter(
                "oms_http_errors_total",
                "HTTP answers with status 400 or above, by route.",
                self._errors,
            )
            name = "oms_http_request_duration_seconds"
            lines += [f"# HELP {name} Time to answer, by route.", f"# TYPE {name} histogram"]
            for (method, route), counts in sorted(self._buckets.items()):
                for bound, n in zip((*map(str, BUCKETS), "+Inf"), counts, strict=True):
                    labels = _labels(method=method, route=route, le=bound)
                    lines.append(f"{name}_bucket{labels} {n}")
                labels = _labels(method=method, route=route)
                lines.append(f"{name}_sum{labels} {self._sums[(method, route)]:.6f}")
                lines.append(f"{name}_count{labels} {counts[-1]}")
        return "\n".join(lines) + "\n"


def _counter(name: str, description: str, series: dict[tuple[str, str, str], int]) -> list[str]:
    lines = [f"# HELP {name} {description}", f"# TYPE {name} counter"]
    for (method, route, status), n in sorted(series.items()):
        lines.append(f"{name}{_labels(method=method, route=route, status=status)} {n}")
    return lines


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class MetricsMiddleware:
    """Times every HTTP request, counts it under its route template, and logs it."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering
        noted = False

        def note() -> None:
            nonlocal noted
            if not noted:
                noted = True
                seconds = time.perf_counter() - started
                route = route_template(scope)
                self.metrics.observe(scope["method"], route, status, seconds)
                _log_access(scope, route, status, seconds)

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Counted before the last byte leaves: whoever got the answer sees it counted.
                note()
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            note()


def _log_access(scope: Scope, route: str, status: int, seconds: float) -> None:
    fields: dict[str, Any] = {
        "method": scope["method"],
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
    }
    client = scope.get("client")
    if client:
        fields["client"] = str(client[0])
    path_params = scope.get("path_params") or {}
    for name in ("order_id", "task_id", "sku"):
        if name in path_params:
            fields[name] = path_params[name]
    actor = scope.get("oms.actor")
    if actor is not None:
        fields["actor"] = actor.staff_id
        fields["department"] = actor.department.value
    access_log.info("%s %s %s", scope["method"], route, status, extra=fields)


router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> PlainTextResponse:
    """Prometheus metrics of this API process (requests, latency, errors by route).

    With `OMS_METRICS_TOKEN` set, only a scraper that sends it as a bearer token is
    answered: route names, statuses and volumes are not for whoever reaches the port.
    """
    expected: str = request.app.state.metrics_token
    if expected:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), expected.encode()
        ):
            raise ApiError(401, "the metrics token (OMS_METRICS_TOKEN) is required")
    registry: HttpMetrics = request.app.state.http_metrics
    return PlainTextResponse(registry.render(), media_type="text/plain; version=0.0.4")


def install(app: FastAPI, token: str = "") -> None:
    """Measure every request of `app` and serve the figures on `GET /metrics` (to the
    bearer of `token` only, when one is given)."""
    app.state.http_metrics = HttpMetrics()
    app.state.metrics_token = token
    app.add_middleware(MetricsMiddleware, metrics=app.state.http_metrics)
    app.include_router(router)
