"""What an order leaves in Temporal: events and bytes per history, and how fast histories replay."""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from bench.baseline import BaselineWorkflow
from bench.progress import Progress
from config.keys import Keyring
from config.settings import Settings
from workers.client import data_converter
from workers.worker import WORKFLOWS, command_trust, keep_bytecode, workflow_runner


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
        # A stall: a task the worker took and never answered (each costs the task timeout).
        "workflow_task_timeouts": kinds["workflow_task_timed_out"],
        "histories_with_timeouts": sum(
            1
            for h in histories
            if any(_kind(e.event_type) == "workflow_task_timed_out" for e in h.events)
        ),
        "by_kind": {
            kind: {"events": round(count / n, 2), "bytes": round(kind_bytes[kind] / n)}
            for kind, count in kinds.most_common()
        },
    }


async def _stream(histories: Sequence[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


#: The run's payload keys and the public keys of its command signatures, as text
#: (picklable for the pool processes): histories are encrypted and commands signed as in
#: production, so replaying them decrypts and checks as an auditor's replay would.
Keys = tuple[dict[str, str], str, dict[str, str]] | None


def _replayer(workflows: Sequence[type], sandbox: bool, keys: Keys) -> Replayer:
    settings = Settings(workflow_sandbox=sandbox, command_keys=keys[2] if keys else {})
    keyring = Keyring.from_strings(keys[0], keys[1]) if keys else None
    return Replayer(
        workflows=list(workflows),
        data_converter=data_converter(keyring),
        workflow_runner=workflow_runner(settings),
        interceptors=[command_trust(settings)],
    )


async def replay_rate(
    histories: Sequence[WorkflowHistory],
    *,
    sandbox: bool,
    workflows: Sequence[type] = WORKFLOWS,
    title: str,
    keys: Keys = None,
) -> dict[str, Any]:
    """Histories per second one process replays with the current code (all must pass)."""
    replayer = _replayer(workflows, sandbox, keys)
    with Progress(title, len(histories)) as progress:
        started = time.perf_counter()
        await replayer.replay_workflows(_stream(histories))
        seconds = time.perf_counter() - started
        progress.set(len(histories))
    return {
        "histories": len(histories),
        "processes": 1,
        "seconds": round(seconds, 3),
        "per_second": round(len(histories) / seconds, 1) if seconds > 0 else None,
    }


def _replay_chunk(histories: list[tuple[str, str]], sandbox: bool, keys: Keys) -> int:
    """In a pool process: replay these (workflow id, history JSON) pairs; returns how many."""
    keep_bytecode(Settings(var_dir=Path(tempfile.gettempdir()) / "oms-bench-replay"))
    loaded = [WorkflowHistory.from_json(workflow_id, text) for workflow_id, text in histories]
    asyncio.run(_replayer(WORKFLOWS, sandbox, keys).replay_workflows(_stream(loaded)))
    return len(loaded)


def parallel_replay_rate(
    histories: Sequence[WorkflowHistory], *, sandbox: bool, processes: int, keys: Keys = None
) -> dict[str, Any]:
    """Histories per second replayed by one process per core (started and warmed first)."""
    pairs = [(h.workflow_id, h.to_json()) for h in histories]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        # Warm every process: imports, sandbox preparation, bytecode.
        list(
            pool.map(
                _replay_chunk, [pairs[:1]] * processes, [sandbox] * processes, [keys] * processes
            )
        )
        started = time.perf_counter()
        chunks = [pairs[i::processes] for i in range(processes)]
        replayed = sum(pool.map(_replay_chunk, chunks, [sandbox] * processes, [keys] * processes))
        seconds = time.perf_counter() - started
    return {
        "histories": replayed,
        "processes": processes,
        "seconds": round(seconds, 3),
        "per_second": round(replayed / seconds, 1) if seconds > 0 else None,
    }


async def replay_figures(
    orders: Sequence[WorkflowHistory],
    baselines: Sequence[WorkflowHistory],
    cores: int,
    keys: Keys = None,
) -> dict[str, Any]:
    """Order histories replayed in and out of the sandbox, in one process and in one per core;
    the baseline workflow's histories show what replay costs Temporal's SDK at the least."""
    figures: dict[str, Any] = {}
    for sandbox in (True, False):
        kind = "sandbox" if sandbox else "no sandbox"
        figures[f"orders, {kind}, 1 process"] = await replay_rate(
            orders, sandbox=sandbox, title=f"replay ({kind})", keys=keys
        )
        if cores > 1:
            with Progress(f"replay x{cores} ({kind})", len(orders)) as progress:
                figures[f"orders, {kind}, {cores} processes"] = parallel_replay_rate(
                    orders, sandbox=sandbox, processes=cores, keys=keys
                )
                progress.set(len(orders))
    if baselines:
        figures["baseline workflow, sandbox, 1 process"] = await replay_rate(
            baselines,
            sandbox=True,
            workflows=[BaselineWorkflow],
            title="replay baseline",
            keys=keys,
        )
    return figures
