"""One benchmark run: baseline, orders through the client, orders over HTTP, half load, replay.

Every figure of a run comes from the same machine state, one after the other, and
the before/after comparisons run on fresh systems right after the main phases.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import histories
from bench.cluster import Cluster, ClusterConfig
from bench.drivers import HttpDriver, Inbox, StaffMember, UpdateDriver
from bench.load import BaselineWork, Measured, OrderWork, at_rate, saturate
from bench.optimisations import OPTIMISATIONS, Optimisation, Setup, code_comparison
from bench.options import RunOptions
from bench.procs import load_average, machine, versions
from bench.seed import SKUS, database_url, seed
from bench.stats import summarise
from config.settings import Settings
from domain.actors import Department
from workers.devserver import PERFORMANCE_ARGS, temporal_binary
from workers.worker import keep_bytecode


def phase_result(
    name: str,
    path: str,
    measured: Measured,
    usage_before: dict[str, Any],
    usage_after: dict[str, Any],
    **shape: Any,
) -> dict[str, Any]:
    items = measured.total + measured.warmup
    cpu = {
        role: round(usage_after[role].cpu_seconds - usage_before[role].cpu_seconds, 2)
        for role in usage_after
    }
    everything = cpu.pop("machine")
    ours = sum(cpu.values())
    cores = machine()["cores"] or 1
    assert isinstance(cores, int)
    capacity = measured.wall_seconds * cores
    recorder = measured.recorder
    return {
        "name": name,
        "path": path,
        **shape,
        "items": measured.total,
        "warmup": measured.warmup,
        "completed": len(measured.completions),
        "errors": len(recorder.errors),
        "error_samples": recorder.errors[:5],
        "early_retries": recorder.early_retries,
        "per_second": round(measured.rate, 2),
        "wall_seconds": round(measured.wall_seconds, 2),
        "end_to_end_ms": summarise(measured.end_to_end).as_dict(),
        "actions_ms": {
            step: summarise(seconds).as_dict() for step, seconds in recorder.samples.items()
        },
        "cpu_seconds": cpu,
        "cpu_ms_per_item": {role: round(1000 * s / items, 1) for role, s in cpu.items()},
        #: Shares of all cores over the phase: this system's processes, and everything else.
        "machine_busy": round(ours / capacity, 2),
        "others_busy": round(max(everything - ours, 0) / capacity, 2),
        "rss_mb": {
            role: round(u.rss_bytes / 2**20, 1)
            for role, u in usage_after.items()
            if role != "machine"
        },
    }


class Session:
    """One running system and the phases run on it."""

    def __init__(self, cluster: Cluster, staff: dict[Department, StaffMember], options: RunOptions):
        self.cluster = cluster
        self.staff = staff
        self.options = options
        self.ids: dict[str, list[str]] = {}

    @property
    def client(self) -> Any:
        assert self.cluster.client is not None
        return self.cluster.client

    async def _measure(
        self,
        name: str,
        path: str,
        run: Callable[[], Awaitable[Measured]],
        inbox: Inbox | None = None,
        **shape: Any,
    ) -> dict[str, Any]:
        before = self.cluster.usage()
        measured = await run()
        after = self.cluster.usage()
        self.ids[name] = measured.workflow_ids
        result = phase_result(name, path, measured, before, after, **shape)
        if inbox is not None:
            result["inbox_looks"] = inbox.looks
        return result

    async def baseline(self, total: int) -> dict[str, Any]:
        o = self.options
        work = BaselineWork(self.client, self.cluster.task_queue)
        return await self._measure(
            "baseline",
            "baseline",
            lambda: saturate(
                work,
                total=total,
                warmup=o.warmup,
                concurrency=o.concurrency,
                title="baseline",
            ),
            mode="saturate",
            concurrency=o.concurrency,
        )

    def _work(self, path: str, http: httpx.AsyncClient, label: str) -> OrderWork:
        driver: UpdateDriver | HttpDriver
        if path == "update":
            driver = UpdateDriver(self.client, self.cluster.settings, self.staff)
        else:
            driver = HttpDriver(http, self.staff)
        return OrderWork(driver, self.client, SKUS, label=label, scans=self.options.scans)

    async def orders(
        self, name: str, path: str, total: int, *, rate: float | None = None
    ) -> dict[str, Any]:
        o = self.options
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(
            base_url=self.cluster.api_url, timeout=120, limits=limits
        ) as http:
            work = self._work(path, http, label=name.replace("_", "-"))
            if rate is None:
                return await self._measure(
                    name,
                    path,
                    lambda: saturate(
                        work, total=total, warmup=o.warmup, concurrency=o.concurrency, title=name
                    ),
                    work.inbox,
                    mode="saturate",
                    concurrency=o.concurrency,
                )
            warmup = min(o.warmup, 10)
            return await self._measure(
                name,
                path,
                lambda: at_rate(work, total=total, warmup=warmup, rate=rate, title=name),
                work.inbox,
                mode="rate",
                target_rate=round(rate, 2),
            )


def _sample(ids: list[str], count: int) -> list[str]:
    return ids if len(ids) <= count else random.Random(7).sample(ids, count)


def export_code(revision: str, destination: Path) -> Path:
    """The source tree of a git revision, unpacked into `destination` (git is only read)."""
    top = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
    ).stdout.strip()
    destination.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", top, "archive", "--format=tar", revision], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive.stdout, check=True)
    return destination


def _config(
    options: RunOptions, url: str, setup: Setup | None = None, code_dir: Path | None = None
) -> ClusterConfig:
    setup = setup or Setup()
    return ClusterConfig(
        database_url=url,
        env={**options.env, **setup.env},
        server_args=(*options.server_args, *setup.server_args),
        server_db=options.server_db,
        after_sales_seconds=options.after_sales_seconds,
        code_dir=code_dir,
    )


async def main_phases(options: RunOptions, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"phases": {}}
    phases = results["phases"]
    with database_url(workdir, postgres=options.postgres) as url:
        staff = seed(url)
        config = _config(options, url)
        async with Cluster(workdir, config, name="main") as cluster:
            keys = (
                cluster.keyring.to_strings(),
                cluster.keyring.active,
                cluster.command_keys.public_strings(),
            )
            session = Session(cluster, staff, options)
            results["tuning"] = cluster.tuning()
            results["task_queue"] = cluster.task_queue
            results["idle_rss_mb"] = {
                role: round(u.rss_bytes / 2**20, 1) for role, u in cluster.usage().items()
            }
            if "baseline" in options.phases:
                phases["baseline"] = await session.baseline(options.baseline or options.orders)
            if "client" in options.phases:
                phases["client"] = await session.orders("client", "update", options.orders)
            if "http" in options.phases:
                phases["http"] = await session.orders("http", "http", options.orders)
            if "half" in options.phases:
                half_total = options.half_orders or max(options.orders // 2, 100)
                for name, path in (("client", "update"), ("http", "http")):
                    if name in phases and phases[name]["per_second"] > 0:
                        rate = phases[name]["per_second"] / 2
                        phases[f"{name}_half"] = await session.orders(
                            f"{name}_half", path, half_total, rate=rate
                        )
            order_ids = _sample(session.ids.get("client", []), options.history_sample // 2)
            order_ids += _sample(session.ids.get("http", []), options.history_sample // 2)
            baseline_ids = _sample(session.ids.get("baseline", []), options.history_sample // 2)
            orders = await histories.fetch(session.client, order_ids, title="histories")
            baselines = await histories.fetch(
                session.client, baseline_ids, title="baseline histories"
            )
        if orders:
            results["order_history"] = histories.figures(orders)
        if baselines:
            results["baseline_history"] = histories.figures(baselines)
        if orders and "replay" in options.phases:
            # After the system has stopped: the replay has the machine to itself.
            cores = machine()["cores"]
            assert isinstance(cores, int)
            results["replay"] = await histories.replay_figures(orders, baselines, cores, keys)
    return results


async def comparison(
    options: RunOptions, workdir: Path, optimisation: Optimisation
) -> dict[str, Any]:
    name = optimisation.name
    outcome: dict[str, Any] = {"what": optimisation.what, "path": optimisation.path}
    for side, setup in (("before", optimisation.before), ("after", optimisation.after)):
        place = workdir / f"{name.replace(' ', '-').replace('.', '')}-{side}"
        place.mkdir(parents=True, exist_ok=True)
        code_dir = export_code(setup.code, place / "code") if setup.code else None
        with database_url(place, postgres=options.postgres) as url:
            staff = seed(url)
            config = _config(options, url, setup, code_dir)
            async with Cluster(place, config, name=side) as cluster:
                session = Session(cluster, staff, options)
                outcome[side] = await session.orders(
                    f"{name}-{side}", optimisation.path, options.compare_orders
                )
                outcome[side]["setup"] = {
                    "env": setup.env,
                    "server_args": list(setup.server_args),
                    "code": setup.code or "working tree",
                }
    return outcome


async def run(options: RunOptions) -> dict[str, Any]:
    unknown = [c for c in options.compare if c not in OPTIMISATIONS]
    if unknown:
        raise SystemExit(f"unknown comparison(s) {unknown}; known: {sorted(OPTIMISATIONS)}")
    started = datetime.now(UTC)
    load_before = load_average()
    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-"))
    bytecode = sys.dont_write_bytecode, sys.pycache_prefix
    keep_bytecode(Settings(var_dir=workdir))  # this process replays histories in the sandbox
    clock = time.monotonic()
    try:
        results: dict[str, Any] = {
            "started_at": started.isoformat(timespec="seconds"),
            "label": options.label,
            "machine": machine(),
            "versions": versions(temporal_binary()),
            "options": {
                "orders": options.orders,
                "warmup": options.warmup,
                "concurrency": options.concurrency,
                "baseline_workflows": options.baseline or options.orders,
                "phases": list(options.phases),
                "tracking_events_per_order": options.scans,
                "after_sales_window_seconds": options.after_sales_seconds,
                "read_model": "postgresql" if options.postgres else "sqlite",
                "temporal_store": str(options.server_db) if options.server_db else "in-memory",
                "server_args": [*PERFORMANCE_ARGS, *options.server_args],
                "env": options.env,
                "compare": list(options.compare),
                "compare_code": list(options.compare_code),
                "compare_orders": options.compare_orders,
            },
            "load_average_before": load_before,
        }
        if set(options.phases) - {"none"}:
            results.update(await main_phases(options, workdir / "main"))
        results["comparisons"] = {}
        chosen = [OPTIMISATIONS[name] for name in options.compare]
        chosen += [code_comparison(spec) for spec in options.compare_code]
        for optimisation in chosen:
            results["comparisons"][optimisation.name] = await comparison(
                options, workdir, optimisation
            )
        results["load_average_after"] = load_average()
        results["duration_seconds"] = round(time.monotonic() - clock, 1)
        return results
    finally:
        sys.dont_write_bytecode, sys.pycache_prefix = bytecode
        shutil.rmtree(workdir, ignore_errors=True)
