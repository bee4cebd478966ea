"""Tracing (issue 17, item 5): one HTTP action is one trace through its update to the
activities; JSON log lines carry the trace id; /metrics answers only its token when one
is set. The system here is traced with an in-memory exporter (workers/tracing.py)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.client import Client
from temporalio.worker import Replayer

from audit.replay import replayer, with_keys_beside
from config.settings import Settings
from domain.ids import order_workflow_id
from oms.logs import JsonFormatter
from tests.conftest import TEST_POLICY
from tests.support.orders import new_order_id, order_body
from tests.support.system import System, running_system
from workers import tracing
from workers.history import history_files, load_history_file
from workflows.releases import BUILD_ID

HISTORIES = Path(__file__).resolve().parent.parent / "histories"

METRICS_TOKEN = "scrape-" + new_order_id()


@dataclass
class Traced:
    system: System
    spans: InMemorySpanExporter


@pytest_asyncio.fixture(scope="module")
async def traced(client: Client, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Traced]:
    """A system whose API and worker trace into memory (and whose /metrics wants a token)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # The worker takes the tracing interceptor from its client, as `oms worker` does from
    # `connect`; the API's client and app get theirs from the provider made current here.
    config = client.config()
    config["interceptors"] = [tracing.tracing_interceptor(provider), *config["interceptors"]]
    path = tmp_path_factory.mktemp("traced") / "oms.db"
    tracing.use_provider(provider)
    try:
        async with running_system(
            Client(**config), f"sqlite:///{path}", TEST_POLICY, metrics_token=METRICS_TOKEN
        ) as system:
            tracing.use_provider(None)  # systems built after this one are not traced
            yield Traced(system, exporter)
    finally:
        tracing.use_provider(None)
        provider.shutdown()


async def spans_until(
    exporter: InMemorySpanExporter,
    found: Callable[[Sequence[ReadableSpan]], bool],
    timeout: float = 10,
) -> Sequence[ReadableSpan]:
    """The finished spans once `found` holds (the request's span ends after its answer)."""
    deadline = time.monotonic() + timeout
    while True:
        spans = exporter.get_finished_spans()
        if found(spans) or time.monotonic() > deadline:
            return spans
        await asyncio.sleep(0.05)


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def trace_of(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.trace_id


async def test_one_review_is_one_trace_from_the_request_through_the_update_to_its_activities(
    traced: Traced,
):
    system = traced.system
    sku = f"SKU-TRACE-{new_order_id()}"
    system.set_stock(sku, 5)
    body = order_body(lines=[(sku, 2, "129.00")])
    order_id = body["order_id"]
    created = await system.post("platform", "/api/v1/orders", body)
    assert created.status_code == 201, created.text
    await system.wait_for(order_id, "under_review")
    traced.spans.clear()

    reviewed = await system.post(
        "sales", f"/api/v1/orders/{order_id}/review", {"approved": True, "note": "traced"}
    )
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "ready_to_pack"

    route = "POST /api/v1/orders/{order_id}/review"

    def complete(spans: Sequence[ReadableSpan]) -> bool:
        names = {span.name for span in spans}
        return {route, "HandleUpdate:review", "RunActivity:reserve_stock"} <= names

    spans = await spans_until(traced.spans, complete)
    [request] = [s for s in named(spans, route) if s.kind == SpanKind.SERVER]
    trace_id = trace_of(request)
    in_trace = [span for span in spans if trace_of(span) == trace_id]
    names = {span.name for span in in_trace}
    # The API's request, its update on the client, the workflow's validator and handler,
    # and the activities the handler ran: stock reserved, the read model written.
    for expected in (
        route,
        "StartWorkflowUpdate:review",
        "ValidateUpdate:review",
        "HandleUpdate:review",
        "StartActivity:reserve_stock",
        "RunActivity:reserve_stock",
        "RunActivity:apply_order_changes",
    ):
        assert expected in names, f"{expected} is not in the request's trace: {sorted(names)}"

    # Parent by parent: request -> update (client) -> handler (workflow); activity run ->
    # its start in the workflow.
    [update] = named(in_trace, "StartWorkflowUpdate:review")
    [handler] = named(in_trace, "HandleUpdate:review")
    assert update.attributes is not None
    assert update.attributes["temporalWorkflowID"] == f"order-{order_id}"
    assert handler.parent is not None and update.context is not None
    assert handler.parent.span_id == update.context.span_id
    # ... and the handler still links to the order's own start (its first trace).
    assert handler.links, "the handler links the workflow's start"
    [run] = named(in_trace, "RunActivity:reserve_stock")
    starts = {
        s.context.span_id for s in named(in_trace, "StartActivity:reserve_stock") if s.context
    }
    assert run.parent is not None and run.parent.span_id in starts
    # Nothing of the review landed in another trace.
    elsewhere = [s.name for s in spans if trace_of(s) != trace_id and "review" in s.name]
    assert not elsewhere


async def test_a_request_span_names_its_route_never_the_customer_it_asked_about(
    traced: Traced,
):
    """Customer ids travel in paths and queries (a standing, a search): the trace
    collector sees the route only, as the access log does (docs/security.md)."""
    system = traced.system
    customer = f"C-TRACED-{new_order_id()}"
    traced.spans.clear()
    asked = [
        await system.get("sales", f"/api/v1/customers/{customer}/standing"),
        await system.get("sales", "/api/v1/orders", customer_id=customer),
    ]
    assert [r.status_code for r in asked] == [200, 200], [r.text for r in asked]
    routes = {"GET /api/v1/customers/{customer_id}/standing", "GET /api/v1/orders"}

    def both(spans: Sequence[ReadableSpan]) -> bool:
        return routes <= {s.name for s in spans if s.kind == SpanKind.SERVER}

    spans = await spans_until(traced.spans, both)
    requests = [s for s in spans if s.kind == SpanKind.SERVER and s.name in routes]
    assert {s.name for s in requests} == routes
    for span in requests:
        shown = {k: str(v) for k, v in (span.attributes or {}).items()}
        assert not [k for k, v in shown.items() if customer in v], shown
        assert shown["http.target"] == span.name.split(" ", 1)[1]


async def test_the_api_access_log_line_of_a_traced_request_carries_its_trace_id(traced: Traced):
    system = traced.system
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("oms.api.access")
    access.addHandler(handler)
    previous = access.level
    access.setLevel(logging.INFO)
    traced.spans.clear()
    try:
        missing = await system.get("sales", f"/api/v1/orders/NOPE-{new_order_id()}")
        assert missing.status_code == 404
        route = "GET /api/v1/orders/{order_id}"
        spans = await spans_until(traced.spans, lambda s: bool(named(s, route)))
    finally:
        access.removeHandler(handler)
        access.setLevel(previous)
    [request] = [s for s in named(spans, route) if s.kind == SpanKind.SERVER]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [line] = [entry for entry in lines if entry.get("route") == "/api/v1/orders/{order_id}"]
    assert line["trace_id"] == format(trace_of(request), "032x")
    assert len(line["span_id"]) == 16


def test_a_json_log_line_written_inside_a_span_carries_its_trace_and_span_id():
    tracer = TracerProvider().get_tracer("test")
    record = logging.LogRecord("oms.test", logging.INFO, __file__, 1, "inside", None, None)
    with tracer.start_as_current_span("work") as span:
        inside = json.loads(JsonFormatter().format(record))
    context = span.get_span_context()
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")
    outside = json.loads(JsonFormatter().format(record))
    assert "trace_id" not in outside
    assert "span_id" not in outside


def test_tracing_is_off_by_default_and_the_client_gets_no_interceptor():
    assert Settings().tracing_exporter == "none"
    tracing.use_provider(None)
    assert tracing.setup_tracing(Settings(tracing_exporter="none"), "oms-test") is None
    assert tracing.client_interceptors() == []


def test_the_exporters_are_chosen_by_name_and_an_unknown_one_is_refused():
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    assert isinstance(tracing.exporter_for("console"), ConsoleSpanExporter)
    assert type(tracing.exporter_for("otlp")).__name__ == "OTLPSpanExporter"
    with pytest.raises(SystemExit, match="none, console or otlp"):
        tracing.exporter_for("zipkin")


async def test_metrics_answer_only_the_bearer_of_the_metrics_token_when_one_is_set(
    traced: Traced,
):
    http = traced.system.http
    assert (await http.get("/metrics")).status_code == 401
    wrong = await http.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    # A member of staff's token is not the scraper's.
    staff = await http.get("/metrics", headers=traced.system.auth("admin"))
    assert staff.status_code == 401
    scraped = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200
    assert "oms_http_requests_total" in scraped.text


async def test_histories_replay_the_same_with_tracing_on_or_off(traced: Traced, tmp_path: Path):
    """The interceptor adds headers and spans, never commands: a traced order's history
    replays with the auditors' replayer (no tracing), and this release's recorded
    histories replay with a worker's replayer that traces (a cache miss with tracing on)."""
    system = traced.system
    sku = f"SKU-TRACE-{new_order_id()}"
    system.set_stock(sku, 5)
    body = order_body(lines=[(sku, 1, "129.00")])
    order_id = body["order_id"]
    assert (await system.post("platform", "/api/v1/orders", body)).status_code == 201
    await system.wait_for(order_id, "under_review")
    reviewed = await system.post("sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    assert reviewed.status_code == 200, reviewed.text
    history = await system.client.get_workflow_handle(order_workflow_id(order_id)).fetch_history()
    plain = replayer(converter=system.client.data_converter, settings=system.settings)
    await plain.replay_workflow(history)

    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    files = history_files([HISTORIES / BUILD_ID])
    settings = with_keys_beside(Settings(var_dir=tmp_path, codec_disabled=True), files)
    plain_replayer = replayer(settings=settings)
    config = plain_replayer.config()
    config["interceptors"] = [tracing.tracing_interceptor(provider), *config["interceptors"]]
    tracing_replayer = Replayer(**config)

    async def verdicts(replaying: Replayer) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for path in files:
            result = await replaying.replay_workflow(
                load_history_file(path), raise_on_replay_failure=False
            )
            failure = result.replay_failure
            found[path.name] = None if failure is None else type(failure).__name__
        return found

    # The same verdict for every history with tracing as without (tests/audit judges the
    # verdicts themselves against each history's own release).
    traced_verdicts = await verdicts(tracing_replayer)
    assert traced_verdicts == await verdicts(plain_replayer)
    assert len(files) > 0
    assert sum(verdict is None for verdict in traced_verdicts.values()) > len(files) // 2
    # Replaying makes no spans: what ran once is not traced again.
    assert not [s for s in exporter.get_finished_spans() if s.name.startswith("RunWorkflow")]
