"""Tracing with OpenTelemetry: one trace from an HTTP request through its update to the
activities the workflow runs for it.

`OMS_TRACING_EXPORTER` chooses, once per process (the API, each worker):

- `none` (the default): no tracer provider is installed, the Temporal client and the
  worker get no tracing interceptor and the app no instrumentation: nothing is paid.
- `console`: finished spans are written to stdout as JSON (a look on one machine).
- `otlp`: spans go to an OpenTelemetry collector over OTLP/HTTP
  (`opentelemetry-exporter-otlp-proto-http`); the standard `OTEL_EXPORTER_OTLP_ENDPOINT`
  (default `http://localhost:4318`), `OTEL_EXPORTER_OTLP_HEADERS`... say where and how.

With a provider, `connect` (workers/client.py) puts Temporal's own `TracingInterceptor`
(as `CallerTracingInterceptor`, below) on the client: the API's client starts a span per
start, update, signal and query and carries its context in a header (`_tracer-data`); a
worker's client hands the same interceptor to the worker, which continues the trace in
the workflow (spans of zero length, made only when not replaying) and in every activity.
The API's requests are spans of FastAPI's instrumentation (`instrument_app`), so the
update's span is a child of the request's. The JSON log lines carry the current span's
`trace_id` and `span_id` (oms/logs.py).

Headers are not commands: recorded histories replay the same with or without tracing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind
from temporalio.api.common.v1 import Payload
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.worker import HandleSignalInput, HandleUpdateInput, WorkflowInterceptorClassInput

from config.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("oms.tracing")

#: The name under which this project's spans are made (the instrumentation scope).
TRACER_NAME = "oms"

_lock = threading.Lock()
_provider: TracerProvider | None = None


class TracingUnavailable(SystemExit):
    """The exporter the settings name cannot be built here (its package is missing)."""


def exporter_for(name: str) -> SpanExporter:
    """The span exporter `OMS_TRACING_EXPORTER` names (never `none`)."""
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise TracingUnavailable(
                "OMS_TRACING_EXPORTER=otlp needs the OTLP exporter: "
                "pip install opentelemetry-exporter-otlp-proto-http (docs/ops.md, Tracing)"
            ) from None
        return OTLPSpanExporter()
    raise TracingUnavailable(f"OMS_TRACING_EXPORTER={name!r}: choose none, console or otlp")


def setup_tracing(settings: Settings, service: str) -> TracerProvider | None:
    """The process's tracer provider, made on the first call from the settings (and made
    OpenTelemetry's global one); None when tracing is off. Later calls return the same."""
    global _provider
    with _lock:
        if _provider is not None or settings.tracing_exporter == "none":
            return _provider
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(BatchSpanProcessor(exporter_for(settings.tracing_exporter)))
        trace.set_tracer_provider(provider)
        _provider = provider
    log.info("tracing on: spans of %s go to %s", service, settings.tracing_exporter)
    return provider


def use_provider(provider: TracerProvider | None) -> None:
    """Make `provider` this process's (a test's in-memory one), or None to turn tracing off
    for what is built afterwards. OpenTelemetry's global provider is left as it is."""
    global _provider
    with _lock:
        _provider = provider


def active_provider() -> TracerProvider | None:
    return _provider


class CallerTracingInterceptor(TracingInterceptor):
    """Temporal's interceptor, with an update's or a signal's spans in its caller's trace.

    As shipped, the workflow side puts every handler's spans under the workflow's start
    (the trace of `POST /orders`) and only links the caller: the review's activities
    would land weeks back, in the hand-over's trace. An order lives for weeks and every
    staff action is its own request, so here a handler's spans (`ValidateUpdate`,
    `HandleUpdate`, `HandleSignal`, and the `StartActivity` of what the handler runs) are
    children of the caller's span, with a link to the workflow's start. Customised by
    subclassing, the way the SDK's docstring asks (temporalio pinned in pyproject.toml).
    """

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)  # registers the span extern function
        return _CallerParentedWorkflowTracing


class _CallerParentedWorkflowTracing(TracingWorkflowInboundInterceptor):
    def _carrier(self, headers: Mapping[str, Payload]) -> dict[str, Any] | None:
        payload = headers.get(self.header_key)
        if not payload:
            return None
        carrier = self.payload_converter.from_payloads([payload])[0]
        return carrier if isinstance(carrier, dict) and carrier else None

    @contextmanager
    def _handler_context(self, caller: dict[str, Any] | None) -> Iterator[None]:
        """The caller's context current for the handler (and what it starts)."""
        if caller is None:  # a caller without tracing: the workflow's own context
            with self._top_level_workflow_context(success_is_complete=False):
                yield
            return
        context = self._set_on_context(self.text_map_propagator.extract(caller))
        token = otel_context.attach(context)
        try:
            yield
        finally:
            if otel_context.get_current() is context:
                otel_context.detach(token)

    def _handler_span(self, name: str, caller: dict[str, Any] | None) -> None:
        self._completed_span(
            name,
            link_context_carrier=self._load_workflow_context_carrier() if caller else None,
            kind=SpanKind.SERVER,
        )

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        caller = self._carrier(input.headers)
        with self._handler_context(caller):
            self._handler_span(f"ValidateUpdate:{input.update}", caller)
            self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        caller = self._carrier(input.headers)
        with self._handler_context(caller):
            self._handler_span(f"HandleUpdate:{input.update}", caller)
            return await self.next.handle_update_handler(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        caller = self._carrier(input.headers)
        with self._handler_context(caller):
            self._handler_span(f"HandleSignal:{input.signal}", caller)
            await self.next.handle_signal(input)


def tracing_interceptor(provider: TracerProvider) -> TracingInterceptor:
    return CallerTracingInterceptor(provider.get_tracer(TRACER_NAME))


def client_interceptors() -> list[TracingInterceptor]:
    """Temporal's tracing interceptor when tracing is on (for `Client.connect`).

    A worker takes the interceptors of its client that are also worker interceptors,
    ahead of its own: tracing is outermost, so a span covers the trust check too.
    """
    provider = _provider
    return [tracing_interceptor(provider)] if provider is not None else []


def instrument_app(app: FastAPI, settings: Settings) -> None:
    """A span for every HTTP request of `app` when tracing is on (the trace's root)."""
    provider = setup_tracing(settings, "oms-api")
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls="/healthz$,/metrics$",
        server_request_hook=_route_only,
    )


#: The request's span attributes that carry its path or query (both semantic conventions).
_PATH_ATTRIBUTES = ("http.target", "url.path")
_URL_ATTRIBUTES = ("http.url", "url.full")
_QUERY_ATTRIBUTES = ("url.query",)


def _route_only(span: Any, scope: Mapping[str, Any]) -> None:
    """The request's span names its route (`/api/v1/customers/{customer_id}/standing`),
    never the path or query it was called with: those carry customer ids and search
    terms, which stay out of the trace collector as they stay out of the access log
    (oms/logs.py) and Temporal (docs/security.md)."""
    if not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    # The instrumentation found the route already: its template names the span and is
    # `http.route`; a path no route matches (a 404) is named by its method only.
    _, _, named = str(getattr(span, "name", "")).partition(" ")
    route = str(attributes.get("http.route") or named or "unmatched")
    host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
    redacted = dict.fromkeys(_PATH_ATTRIBUTES, route)
    redacted.update(
        dict.fromkeys(_URL_ATTRIBUTES, f"{scope.get('scheme', 'http')}://{host}{route}")
    )
    redacted.update(dict.fromkeys(_QUERY_ATTRIBUTES, ""))
    for name, value in redacted.items():
        if name in attributes:  # only what the instrumentation set: no new attributes
            span.set_attribute(name, value)
