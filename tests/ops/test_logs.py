"""Structured logs: one JSON object per line, with the order id and the actor where known."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from oms.logs import JsonFormatter, configure_logging
from tests.support.orders import order_body
from tests.support.system import System


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    """What the API's access logger writes, as the JSON formatter writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("oms.api.access")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(previous)


async def logged(stream: io.StringIO, timeout: float = 10, **wanted: str) -> list[dict[str, Any]]:
    """The JSON records written so far, once one with the `wanted` fields is among them."""
    deadline = time.monotonic() + timeout
    while True:
        records = [json.loads(line) for line in stream.getvalue().splitlines()]
        if any(all(r.get(k) == v for k, v in wanted.items()) for r in records):
            return records
        assert time.monotonic() < deadline, f"no access log record with {wanted}: {records}"
        await asyncio.sleep(0.05)


async def test_every_request_is_logged_with_its_route_order_id_and_actor(
    system: System, access_lines: io.StringIO
):
    body = order_body()
    created = await system.post("platform", "/api/v1/orders", body)
    assert created.status_code == 201
    await system.get("sales", f"/api/v1/orders/{body['order_id']}")

    # The line is written before the answer's last byte goes out; waiting costs nothing.
    await logged(access_lines, route="/api/v1/orders", method="POST")
    records = await logged(access_lines, route="/api/v1/orders/{order_id}", method="GET")
    read = next(r for r in records if r["route"] == "/api/v1/orders/{order_id}")
    assert read["order_id"] == body["order_id"]
    assert read["actor"] == system.staff_ids["sales"]
    assert read["department"] == "sales"
    assert read["status"] == 200 and read["method"] == "GET"
    assert read["level"] == "INFO" and read["logger"] == "oms.api.access"
    created_record = next(r for r in records if r["route"] == "/api/v1/orders")
    assert created_record["department"] == "platform" and created_record["status"] == 201


def test_workflow_and_activity_records_carry_the_order_id_of_their_workflow():
    record = logging.LogRecord("temporalio.workflow", logging.WARNING, "", 0, "late", None, None)
    record.temporal_workflow = {  # type: ignore[attr-defined]
        "workflow_id": "order-JD1",
        "run_id": "r1",
        "workflow_type": "OrderWorkflow",
    }
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["order_id"], entry["workflow_id"], entry["run_id"]) == ("JD1", "order-JD1", "r1")
    assert "temporal_workflow" not in entry


def test_an_exception_is_kept_in_the_same_json_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, "", 0, "failed", None, sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_configure_logging_sends_json_lines_to_stderr(capsys):
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging("json", "INFO")
        logging.getLogger("oms.test").info("hello %s", "world", extra={"order_id": "JD9"})
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert json.loads(line) | {"ts": None} == {
            "ts": None,
            "level": "INFO",
            "logger": "oms.test",
            "message": "hello world",
            "order_id": "JD9",
        }
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
