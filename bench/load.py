"""Load shapes: a fixed number of items in flight (saturation), or a fixed start rate.

An item is one baseline workflow or one order. `drive` is the part that holds a
slot: for the baseline the whole workflow, for an order the steps up to
delivered. `finish` waits for the workflow to complete: an order's after-sales
window is a timer, not work, so it does not hold a slot. The first `warmup`
items are driven like the others but not measured.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from temporalio.client import Client

from bench.baseline import STEPS, BaselineWorkflow
from bench.drivers import Driver, Inbox, Recorder, drive_order, new_order
from bench.progress import Progress
from bench.stats import completion_rate
from domain.ids import order_workflow_id
from domain.states import OrderStatus
from workflows.order import OrderWorkflow

#: A phase whose first this many items all fail is stopped: something is broken.
GIVE_UP_AFTER = 20


class Work(Protocol):
    async def drive(self, index: int, recorder: Recorder | None) -> str:
        """Take item `index` as far as it holds a slot; returns its workflow id."""
        ...

    async def finish(self, workflow_id: str) -> None:
        """Wait until the workflow has completed (raises if it did not complete well)."""
        ...


def run_prefix(label: str) -> str:
    """Unique ids per phase, safe as order ids (letters, digits, dashes)."""
    safe = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-")[:24]
    return f"{safe}-{uuid.uuid4().hex[:6]}-"


class BaselineWork:
    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue
        self.prefix = run_prefix("baseline")

    async def drive(self, index: int, recorder: Recorder | None) -> str:
        workflow_id = f"{self.prefix}{index:06d}"
        await self.client.execute_workflow(
            BaselineWorkflow.run,
            STEPS,
            id=workflow_id,
            task_queue=self.task_queue,
            execution_timeout=timedelta(minutes=10),
        )
        return workflow_id

    async def finish(self, workflow_id: str) -> None:
        return None


class OrderWork:
    def __init__(
        self, driver: Driver, client: Client, skus: list[str], *, label: str, scans: int = 1
    ) -> None:
        self.driver = driver
        self.inbox = Inbox(driver)
        self.client = client
        self.skus = skus
        self.scans = scans
        self.prefix = run_prefix(label).upper()

    async def drive(self, index: int, recorder: Recorder | None) -> str:
        order_id = f"{self.prefix}{index:06d}"
        order = new_order(order_id, self.skus[index % len(self.skus)])
        await drive_order(self.driver, self.inbox, order, recorder, scans=self.scans)
        return order_workflow_id(order_id)

    async def finish(self, workflow_id: str) -> None:
        handle = self.client.get_workflow_handle_for(OrderWorkflow.run, workflow_id)
        outcome = await handle.result()
        if outcome.status is not OrderStatus.COMPLETED:
            raise RuntimeError(f"{workflow_id} ended {outcome.status}")


@dataclass
class Measured:
    """What one phase measured, before CPU and histories are added."""

    total: int
    warmup: int
    wall_seconds: float = 0.0
    completions: list[float] = field(default_factory=list)
    end_to_end: list[float] = field(default_factory=list)
    workflow_ids: list[str] = field(default_factory=list)
    recorder: Recorder = field(default_factory=Recorder)

    @property
    def rate(self) -> float:
        return completion_rate(self.completions)


class _Run:
    def __init__(self, work: Work, total: int, warmup: int, progress: Progress) -> None:
        self.work = work
        self.measured = Measured(total=total, warmup=warmup)
        self.progress = progress
        self.in_flight = 0
        self.finishing: list[asyncio.Task[None]] = []

    async def item(self, index: int) -> None:
        """Drive one item; its completion is awaited by a task of its own."""
        measured = index >= self.measured.warmup
        recorder = self.measured.recorder if measured else None
        started = time.perf_counter()
        self.in_flight += 1
        try:
            workflow_id = await self.work.drive(index, recorder)
        except Exception as error:
            self._failed(index, error)
            return
        finally:
            self.in_flight -= 1
        self.finishing.append(asyncio.create_task(self._finish(index, workflow_id, started)))

    async def _finish(self, index: int, workflow_id: str, started: float) -> None:
        try:
            await self.work.finish(workflow_id)
        except Exception as error:
            self._failed(index, error)
            return
        done = time.perf_counter()
        if index >= self.measured.warmup:
            self.measured.completions.append(done)
            self.measured.end_to_end.append(done - started)
            self.measured.workflow_ids.append(workflow_id)
        self.progress.note = f"in flight {self.in_flight}"
        self.progress.advance()

    def _failed(self, index: int, error: Exception) -> None:
        errors = self.measured.recorder.errors
        errors.append(f"item {index}: {type(error).__name__}: {error}")
        self.progress.note = f"errors {len(errors)}"
        self.progress.advance()
        if len(errors) >= GIVE_UP_AFTER and self.progress.done == len(errors):
            raise RuntimeError(f"the first {len(errors)} items all failed: {errors[0]}")

    async def drain(self) -> Measured:
        await asyncio.gather(*self.finishing)
        return self.measured


async def saturate(
    work: Work, *, total: int, warmup: int, concurrency: int, title: str
) -> Measured:
    """Keep `concurrency` items being driven until `warmup + total` have been."""
    count = warmup + total
    next_index = 0
    with Progress(title, count) as progress:
        run = _Run(work, total, warmup, progress)
        started = time.perf_counter()

        async def slot() -> None:
            nonlocal next_index
            while next_index < count:
                index = next_index
                next_index += 1
                await run.item(index)

        await asyncio.gather(*(slot() for _ in range(concurrency)))
        measured = await run.drain()
        measured.wall_seconds = time.perf_counter() - started
    return measured


async def at_rate(work: Work, *, total: int, warmup: int, rate: float, title: str) -> Measured:
    """Start items at `rate` per second, whatever is still in flight (an open system)."""
    count = warmup + total
    with Progress(title, count) as progress:
        run = _Run(work, total, warmup, progress)
        started = time.perf_counter()
        items: list[asyncio.Task[None]] = []
        for index in range(count):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            items.append(asyncio.create_task(run.item(index)))
        await asyncio.gather(*items)
        measured = await run.drain()
        measured.wall_seconds = time.perf_counter() - started
    return measured
