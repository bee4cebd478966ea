"""`python -m bench scale --open 10000`: many orders waiting at review, and one more action.

Starts the orders through the Temporal client, waits until the read model shows
every one of them under review, then reads the worker's memory and times review
actions one at a time (over HTTP and as Updates) while the rest keep waiting. Orders
taken to `delivered` before the crowd (evicted since) and after it (still cached) then
have a return asked for (P5.3), the after-sales action of an order that stays open for
its return window.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.cluster import Cluster, ClusterConfig
from bench.drivers import HttpDriver, UpdateDriver, new_order
from bench.options import ScaleOptions
from bench.procs import load_average, machine, versions
from bench.progress import Progress
from bench.results import PATH_NAMES, fmt, table, write
from bench.seed import SKUS, database_url, seed
from bench.stats import summarise
from db.engine import Database
from db.tables import orders
from domain.commands import TrackingEventKind
from domain.policy import PolicySettings
from workers.devserver import temporal_binary


def _mb(value: int) -> float:
    return round(value / 2**20, 1)


async def _open_orders(driver: UpdateDriver, prefix: str, count: int, concurrency: int) -> float:
    next_index = 0
    started = time.perf_counter()
    with Progress("starting orders", count) as progress:

        async def slot() -> None:
            nonlocal next_index
            while next_index < count:
                index = next_index
                next_index += 1
                await driver.create(new_order(f"{prefix}{index:06d}", SKUS[index % len(SKUS)]))
                progress.advance()

        await asyncio.gather(*(slot() for _ in range(concurrency)))
    return time.perf_counter() - started


async def _wait_under_review(db: Database, count: int, timeout: float) -> float:
    started = time.perf_counter()
    query = select(func.count()).select_from(orders).where(orders.c.status == "under_review")
    with Progress("waiting at review", count) as progress:
        while True:
            with db.read() as conn:
                waiting = int(conn.execute(query).scalar_one())
            progress.set(waiting)
            if waiting >= count:
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"only {waiting} of {count} orders reached review")
            await asyncio.sleep(1)


async def _time_reviews(driver: UpdateDriver | HttpDriver, order_ids: list[str]) -> list[float]:
    seconds = []
    for order_id in order_ids:
        started = time.perf_counter()
        status = await driver.act("review", order_id)
        seconds.append(time.perf_counter() - started)
        if status != "ready_to_pack":
            raise RuntimeError(f"review of {order_id} answered {status}")
    return seconds


async def _delivered(
    db: Database, http: HttpDriver, update: UpdateDriver, prefix: str, count: int
) -> list[str]:
    """`count` orders taken along the main line to `delivered`, one after the other."""
    ids = [f"{prefix}{index:04d}" for index in range(count)]
    with Progress(f"delivering {prefix}*", count) as progress:
        for index, order_id in enumerate(ids):
            await update.create(new_order(order_id, SKUS[index % len(SKUS)]))
            for action in ("review", "pack", "dispatch"):
                await http.act(action, order_id)
            await http.track(order_id, f"E-{order_id}", TrackingEventKind.DELIVERED)
            await _wait_status(db, order_id, "delivered")
            progress.advance()
    return ids


async def _wait_status(db: Database, order_id: str, status: str, timeout: float = 60) -> None:
    query = select(orders.c.status).where(orders.c.order_id == order_id)
    started = time.perf_counter()
    while True:
        with db.read() as conn:
            if conn.execute(query).scalar() == status:
                return
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{order_id} not {status} after {timeout} s")
        await asyncio.sleep(0.1)


async def _time_returns(http: HttpDriver, order_ids: list[str]) -> list[float]:
    seconds = []
    for order_id in order_ids:
        started = time.perf_counter()
        await http.request_return(order_id)
        seconds.append(time.perf_counter() - started)
    return seconds


def _cached_and_evicted(prefix: str, count: int, samples: int) -> tuple[list[str], list[str]]:
    """Orders to review: the last started (their workflows were the last to run, so they are
    in the workers' caches when the cache holds more than `samples` per worker) and the first
    started (evicted long since when far more orders are open than the caches hold). Each
    list is `samples` long; half of each is reviewed over HTTP, half with the client."""
    take = min(samples, count // 2)
    cached = [f"{prefix}{i:06d}" for i in range(count - take, count)]
    evicted = [f"{prefix}{i:06d}" for i in range(take)]
    random.Random(11).shuffle(cached)
    random.Random(12).shuffle(evicted)
    return cached, evicted


async def measure(options: ScaleOptions, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with database_url(workdir, postgres=options.postgres) as url:
        staff = seed(url)
        config = ClusterConfig(
            database_url=url,
            env=options.env,
            server_args=options.server_args,
            server_db=options.server_db,
            # The policy's own return window: delivered orders stay open, as a retailer's do.
            after_sales_seconds=PolicySettings().return_window.total_seconds(),
        )
        async with Cluster(workdir, config, name="scale") as cluster:
            assert cluster.client is not None
            results["tuning"] = cluster.tuning()
            idle = cluster.usage()
            update = UpdateDriver(cluster.client, cluster.settings, staff)
            prefix = f"SCALE-{int(time.time())}-"
            count = options.open_orders
            db = Database(url)
            async with httpx.AsyncClient(base_url=cluster.api_url, timeout=60) as http:
                http_driver = HttpDriver(http, staff)
                try:
                    # Delivered before the crowd: evicted by the time their return is asked.
                    delivered_early = await _delivered(
                        db, http_driver, update, f"{prefix}D0-", options.samples
                    )
                    start_seconds = await _open_orders(update, prefix, count, options.concurrency)
                    settle_seconds = await _wait_under_review(
                        db, count, timeout=max(600, count / 5)
                    )
                    loaded = cluster.usage()
                    # Delivered after it: the last workflows to run, still cached.
                    delivered_late = await _delivered(
                        db, http_driver, update, f"{prefix}D1-", options.samples
                    )
                finally:
                    db.dispose()
                cached, evicted = _cached_and_evicted(prefix, count, options.samples)
                review_ms: dict[str, Any] = {}
                for kind, ids in (("cached", cached), ("evicted", evicted)):
                    half = len(ids) // 2
                    http_seconds = await _time_reviews(http_driver, ids[:half])
                    update_seconds = await _time_reviews(update, ids[half:])
                    review_ms[f"http_{kind}"] = summarise(http_seconds).as_dict()
                    review_ms[f"update_{kind}"] = summarise(update_seconds).as_dict()
                return_ms = {
                    f"http_{kind}": summarise(await _time_returns(http_driver, ids)).as_dict()
                    for kind, ids in (("cached", delivered_late), ("evicted", delivered_early))
                }
            after = cluster.usage()
            results.update(
                {
                    "open_orders": count,
                    "start_seconds": round(start_seconds, 1),
                    "starts_per_second": round(count / start_seconds, 1),
                    "all_under_review_after_seconds": round(start_seconds + settle_seconds, 1),
                    "rss_mb": {
                        "idle": {r: _mb(u.rss_bytes) for r, u in idle.items()},
                        "open": {r: _mb(u.rss_bytes) for r, u in loaded.items()},
                        "after_reviews": {r: _mb(u.rss_bytes) for r, u in after.items()},
                    },
                    "worker_kb_per_open_order": round(
                        (loaded["worker"].rss_bytes - idle["worker"].rss_bytes) / 1024 / count, 1
                    ),
                    "cpu_seconds_to_open": {
                        r: round(loaded[r].cpu_seconds - idle[r].cpu_seconds, 1) for r in loaded
                    },
                    "review_ms": review_ms,
                    "return_ms": return_ms,
                    "temporal_store": _store(options.server_db),
                }
            )
    return results


def _store(server_db: Path | None) -> dict[str, Any]:
    """Where the dev server kept its state, and how much of the disk a file store took."""
    if server_db is None:
        return {"kind": "in-memory"}
    files = [server_db, *server_db.parent.glob(f"{server_db.name}-*")]  # -wal, -shm
    size = sum(f.stat().st_size for f in files if f.exists())
    return {"kind": "file", "path": str(server_db), "bytes": size}


def _path_name(path: str) -> str:
    """`update_evicted` -> "Temporal client, order evicted" (older runs: `update`)."""
    name, _, kind = path.partition("_")
    where = {"cached": "order cached", "evicted": "order evicted"}.get(kind)
    return f"{PATH_NAMES[name]}, {where}" if where else PATH_NAMES[name]


def _store_line(results: dict[str, Any]) -> str:
    store = results.get("temporal_store", {"kind": "in-memory"})  # older runs: in memory
    if store["kind"] == "in-memory":
        return "Temporal store: in memory."
    per_order = store["bytes"] / 1024 / results["open_orders"]
    return (
        f"Temporal store: a SQLite file, {store['bytes'] / 2**20:,.0f} MB on disk at the end "
        f"({per_order:.0f} KB per open order)."
    )


def markdown(results: dict[str, Any]) -> str:
    m, v = results["machine"], results["versions"]
    rss = results["rss_mb"]
    lines = [
        f"# Scale run {results['started_at']} {results.get('label') or ''}".rstrip(),
        "",
        f"Machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_bytes'] / 2**30:.1f} GiB; "
        f"load average before {results['load_average_before']}. Versions: Python "
        f"{v['python']}, temporalio {v['temporalio']}, {v['temporal_cli']}. Worker and API: "
        + ", ".join(f"{name}={value}" for name, value in results["tuning"].items())
        + ".",
        "",
        f"{results['open_orders']} orders started in {results['start_seconds']} s "
        f"({results['starts_per_second']}/s); all waiting at review after "
        f"{results['all_under_review_after_seconds']} s. {_store_line(results)}",
        "",
    ]
    lines += table(
        ["process", "idle MB", f"{results['open_orders']} open MB", "after the reviews MB"],
        [
            [role, fmt(rss["idle"][role]), fmt(rss["open"][role]), fmt(rss["after_reviews"][role])]
            for role in ("server", "worker", "api", "driver")
        ],
    )
    lines += [f"Worker memory per open order: {results['worker_kb_per_open_order']} KB.", ""]
    for action, key in (("review", "review_ms"), ("return asked for (P5.3)", "return_ms")):
        if key not in results:  # runs before returns were measured
            continue
        lines += table(
            [f"{action} of one order", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"],
            [
                [
                    _path_name(path),
                    str(s["count"]),
                    fmt(s["p50"]),
                    fmt(s["p95"]),
                    fmt(s["p99"]),
                    fmt(s["max"]),
                ]
                for path, s in results[key].items()
            ],
        )
    return "\n".join(lines)


async def scale(options: ScaleOptions) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="oms-scale-"))
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": options.label,
        "machine": machine(),
        "versions": versions(temporal_binary()),
        "load_average_before": load_average(),
    }
    clock = time.monotonic()
    try:
        results.update(await measure(options, workdir))
    except BaseException:
        # What the processes said is what explains a failed run: keep it.
        print(f"the run failed; the processes' logs are kept in {workdir}", file=sys.stderr)
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    results["duration_seconds"] = round(time.monotonic() - clock, 1)
    results["load_average_after"] = load_average()
    json_path, md_path = write(results, options.out_dir, kind="scale", render=markdown)
    print(md_path.read_text(), end="")
    print(f"results: {json_path} and .md", file=sys.stderr)
    return 0
