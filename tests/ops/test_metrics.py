"""Metrics (P6.3, ops): the API's `/metrics` and the worker's SDK endpoint serve named counters."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import httpx
from temporalio.client import Client

from audit.scenarios import Recording, rejection
from config.settings import Settings
from tests.support.system import System, free_port
from workers.client import connect
from workers.telemetry import worker_runtime
from workers.worker import running_worker


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the series `name` whose labels include `labels` (None when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_the_api_counts_requests_latency_and_errors_by_route_template(system: System):
    before = (await system.http.get("/metrics")).text
    route = "/api/v1/orders/{order_id}"
    for _ in range(3):
        missing = await system.get("sales", f"/api/v1/orders/NOPE-{uuid.uuid4().hex[:6]}")
        assert missing.status_code == 404
    unauthenticated = await system.http.get("/api/v1/tasks")
    assert unauthenticated.status_code == 401

    response = await system.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text

    def grew(name: str, **labels: str) -> float:
        return (sample(text, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    not_found = {"method": "GET", "route": route, "status": "404"}
    assert grew("oms_http_requests_total", **not_found) == 3
    assert grew("oms_http_errors_total", **not_found) == 3
    assert grew("oms_http_errors_total", method="GET", route="/api/v1/tasks", status="401") == 1
    # The raw paths never become series of their own.
    assert "NOPE-" not in text
    assert grew("oms_http_request_duration_seconds_count", method="GET", route=route) == 3
    assert (
        grew("oms_http_request_duration_seconds_bucket", method="GET", route=route, le="+Inf") == 3
    )
    assert "# TYPE oms_http_request_duration_seconds histogram" in text


async def scrape(url: str, *names: str, timeout: float = 20) -> str:
    """Poll the exporter until every named series shows up (or the time is over)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while True:
            text = (await http.get(url)).text
            if all(sample(text, n) is not None for n in names) or time.monotonic() > deadline:
                return text
            await asyncio.sleep(0.3)


async def test_the_worker_exports_sdk_metrics_and_orders_closed_by_outcome(
    system: System, client: Client
):
    port = free_port()
    settings = Settings(
        temporal_address=client.service_client.config.target_host,
        database_url=system.settings.database_url,
        task_queue=f"metrics-{uuid.uuid4().hex[:8]}",
        worker_deployment_name=f"metrics-{uuid.uuid4().hex[:8]}",
        worker_metrics_address=f"127.0.0.1:{port}",
        activity_threads=4,
    )
    metered = await connect(settings, runtime=worker_runtime(settings))
    async with running_worker(metered, settings, system.db):
        recording = Recording(metered, settings.task_queue, system.db, suffix=uuid.uuid4().hex[:6])
        await rejection(recording)
        url = f"http://127.0.0.1:{port}/metrics"
        text = await scrape(url, "oms_orders_closed", "temporal_workflow_completed")

    assert sample(text, "oms_orders_closed", status="rejected", workflow_type="OrderWorkflow") == 1
    assert sample(text, "oms_orders_closed", status="completed") is None
    assert sample(text, "temporal_workflow_completed", workflow_type="OrderWorkflow") == 1
    assert sample(text, "temporal_workflow_task_execution_latency_count") is not None
