"""What an order leaves in Temporal: events and bytes per history, and how fast histories replay."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowRunner

from bench.progress import Progress
from oms.settings import Settings
from workers.worker import WORKFLOWS, workflow_runner


async def fetch(
    client: Client, workflow_ids: Sequence[str], *, title: str
) -> list[WorkflowHistory]:
    histories: list[WorkflowHistory] = []
    gate = asyncio.Semaphore(16)
    with Progress(title, len(workflow_ids)) as progress:

        async def one(workflow_id: str) -> None:
            async with gate:
                histories.append(await client.get_workflow_handle(workflow_id).fetch_history())
            progress.advance()

        await asyncio.gather(*(one(w) for w in workflow_ids))
    return histories


def _kind(event_type: EventType.ValueType) -> str:
    return EventType.Name(event_type).removeprefix("EVENT_TYPE_").lower()


def figures(histories: Sequence[WorkflowHistory]) -> dict[str, Any]:
    """Events and bytes per history, and which kinds of event they are (mean per history)."""
    if not histories:
        return {"histories": 0}
    counts = [len(h.events) for h in histories]
    sizes = [sum(e.ByteSize() for e in h.events) for h in histories]
    kinds: Counter[str] = Counter()
    kind_bytes: Counter[str] = Counter()
    for history in histories:
        for event in history.events:
            kind = _kind(event.event_type)
            kinds[kind] += 1
            kind_bytes[kind] += event.ByteSize()
    n = len(histories)
    return {
        "histories": n,
        "events_mean": round(sum(counts) / n, 1),
        "events_min": min(counts),
        "events_max": max(counts),
        "bytes_mean": round(sum(sizes) / n),
        "bytes_max": max(sizes),
        "workflow_tasks_mean": round(kinds["workflow_task_completed"] / n, 2),
        "by_kind": {
            kind: {"events": round(count / n, 2), "bytes": round(kind_bytes[kind] / n)}
            for kind, count in kinds.most_common()
        },
    }


async def _stream(histories: Sequence[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


async def replay_rate(
    histories: Sequence[WorkflowHistory], runner: WorkflowRunner, *, title: str
) -> dict[str, Any]:
    """Histories per second that `Replayer` replays with the current code (all must pass)."""
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=runner
    )
    with Progress(title, len(histories)) as progress:
        started = time.perf_counter()
        await replayer.replay_workflows(_stream(histories))
        seconds = time.perf_counter() - started
        progress.set(len(histories))
    return {
        "histories": len(histories),
        "seconds": round(seconds, 3),
        "per_second": round(len(histories) / seconds, 1) if seconds > 0 else None,
    }


async def replay_figures(
    histories: Sequence[WorkflowHistory], settings: Settings
) -> dict[str, Any]:
    """Replay with the worker's own runner, and without the sandbox for comparison."""
    return {
        "worker_runner": await replay_rate(histories, workflow_runner(settings), title="replay"),
        "unsandboxed": await replay_rate(
            histories, UnsandboxedWorkflowRunner(), title="replay (no sandbox)"
        ),
    }
