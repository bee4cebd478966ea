"""`python -m bench scans --scans 50`: how one order's history grows with carrier scans.

One order on a system of its own (dev server, worker, API, as `bench run` starts it) is
taken over HTTP to dispatch with the carrier `sim`, its tracking number typed by
logistics; then the carrier posts `--scans` tracking events to its signed callback
(`POST /api/v1/carriers/sim/events`, HMAC with its secret, as a real carrier does), one
at a time: `in_transit` ones, then `out_for_delivery`, then `delivered`. After each scan
the driver waits until the workflow has taken it (no workflow task or activity pending),
fetches the history and counts its events and bytes; once delivered, it waits for the
order to complete. The dev server's own metrics (`--metrics-port`) give the writes to
Temporal's store along the way.

Scans come one at a time because a real carrier's scans come hours apart: each one is a
workflow task of its own. A burst of signals would share tasks and look cheaper than life.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from bench.cluster import Cluster, ClusterConfig
from bench.drivers import MAX_EARLY_RETRIES, HttpDriver, Inbox, Refused, new_order
from bench.options import ScansOptions
from bench.procs import load_average, machine, versions
from bench.results import fmt, table, write
from bench.seed import SKUS, database_url, seed
from bench.stats import summarise
from config.carrier_secrets import carrier_secret, signed_headers
from domain.actors import Department
from domain.ids import order_workflow_id
from domain.policy import PolicySettings
from workers.devserver import free_port, temporal_binary

CARRIER = "sim"
#: The scan counts the report shows (with the last scan, whatever `--scans` is).
CHECKPOINTS = (0, 10, 25, 50)
#: Temporal's limits on one run's history (the server's dynamic config `limit.history*`,
#: defaults of common/dynamicconfig/constants.go): it suggests continue-as-new at 4 Ki
#: events or 4 MiB, warns at 10 Ki events or 10 MiB, and ends the run at 50 Ki or 50 MiB.
MIB = 1024 * 1024
TEMPORAL_LIMITS: dict[str, tuple[int, int]] = {
    "suggest_continue_as_new": (4 * 1024, 4 * MIB),
    "warn": (10 * 1024, 10 * MIB),
    "error": (50 * 1024, 50 * MIB),
}
#: The last two scans of a parcel, as the simulated carrier's plan has them
#: (activities/carrier_sim.py); every scan before them is `in_transit`. `out_for_delivery`
#: sends the customer a message (domain/notices.py), so it is measured apart.
LAST_SCANS = ("out_for_delivery", "delivered")
#: A persistence operation that writes (the rest read): Temporal's operation names.
WRITES = re.compile(
    r"^(Create|Update|Append|Complete|RangeComplete|Delete|Set|Record|Upsert|"
    r"ConflictResolve|Put|Enqueue)"
)
#: How long the dev server takes to show a request in its metrics (seconds).
METRICS_LAG = 2.0
_METRIC = re.compile(r"^(visibility_)?persistence_requests\{([^}]*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


async def persistence_requests(metrics: httpx.AsyncClient, namespace: str) -> Counter[str]:
    """The dev server's persistence requests so far, by operation (its Prometheus metrics):
    those of the namespace, and every visibility request (`visibility:` before the name)."""
    text = (await metrics.get("/metrics")).text
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        found = _METRIC.match(line)
        if found is None:
            continue
        labels = dict(_LABEL.findall(found.group(2)))
        if found.group(1):
            counts[f"visibility:{labels.get('operation')}"] += int(float(found.group(3)))
        elif labels.get("namespace") == namespace:
            counts[str(labels.get("operation"))] += int(float(found.group(3)))
    return counts


async def quiet_requests(
    metrics: httpx.AsyncClient, namespace: str, timeout: float = 60
) -> Counter[str]:
    """The requests once the namespace writes nothing more for a while: the system's own
    workflows (Worker Deployments) settle after the workers start."""
    deadline = time.monotonic() + timeout
    last = await persistence_requests(metrics, namespace)
    while True:
        await asyncio.sleep(METRICS_LAG)
        now = await persistence_requests(metrics, namespace)
        if writes(now)["total"] == writes(last)["total"] or time.monotonic() > deadline:
            return now
        last = now


def writes(requests: Counter[str]) -> dict[str, int]:
    """The writes among these requests, by operation, and their total."""
    chosen = {op: n for op, n in sorted(requests.items()) if n and WRITES.match(op.split(":")[-1])}
    return {**chosen, "total": sum(chosen.values())}


def _kind(event_type: EventType.ValueType) -> str:
    return EventType.Name(event_type).removeprefix("EVENT_TYPE_").lower()


def size_of(history: WorkflowHistory) -> dict[str, Any]:
    """Events and serialized bytes of a history (each event's protobuf size, as the server
    counts it against `limit.historySize`), and its events by kind."""
    kinds = Counter(_kind(e.event_type) for e in history.events)
    return {
        "events": len(history.events),
        "bytes": sum(e.ByteSize() for e in history.events),
        "signals": kinds["workflow_execution_signaled"],
        "by_kind": dict(kinds),
    }


async def _settled(client: Client, workflow_id: str, signals: int, timeout: float = 60) -> None:
    """Until the workflow has `signals` signals in its history and nothing is pending: no
    workflow task (a local activity runs inside one) and no activity."""
    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + timeout
    while True:
        raw = (await handle.describe()).raw_description
        if not raw.HasField("pending_workflow_task") and not raw.pending_activities:
            history = await handle.fetch_history()
            if size_of(history)["signals"] >= signals:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{workflow_id} did not settle after signal {signals}")
        await asyncio.sleep(0.05)


async def _to_dispatch(
    http: httpx.AsyncClient, driver: HttpDriver, order_id: str, tracking_number: str
) -> None:
    """Create the order and take it to in transit with the carrier `sim` (number typed)."""
    await driver.create(new_order(order_id, SKUS[0]))
    await Inbox(driver).wait_for(order_id)
    for action, expected in (("review", "ready_to_pack"), ("pack", "awaiting_dispatch")):
        for attempt in range(MAX_EARLY_RETRIES + 1):
            try:
                status = await driver.act(action, order_id)
                break
            except Refused as refusal:
                if refusal.status != "received" or attempt == MAX_EARLY_RETRIES:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        if status != expected:
            raise RuntimeError(f"{action} of {order_id} answered {status}")
    response = await http.post(
        f"/api/v1/orders/{order_id}/dispatch",
        json={"carrier": CARRIER, "method": "standard", "tracking_number": tracking_number},
        headers=driver.headers[Department.LOGISTICS],
    )
    if response.status_code != 200 or response.json()["status"] != "in_transit":
        raise RuntimeError(f"dispatch: {response.status_code} {response.text[:300]}")


async def _post_scan(
    http: httpx.AsyncClient, secret: str, tracking_number: str, n: int, event: str
) -> float:
    """The carrier's signed callback for scan `n`; its round trip in seconds."""
    body = json.dumps(
        {
            "event_id": f"SCAN-{n:04d}",
            "tracking_number": tracking_number,
            "event": event,
            "location": f"hub {n}",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    started = time.perf_counter()
    response = await http.post(
        f"/api/v1/carriers/{CARRIER}/events",
        content=body,
        headers=signed_headers(secret, int(time.time()), body),
    )
    seconds = time.perf_counter() - started
    if response.status_code != 202:
        raise RuntimeError(f"scan {n}: {response.status_code} {response.text[:300]}")
    return seconds


def scan_events(count: int) -> list[str]:
    """`count` scans: `in_transit` ones, then out for delivery, then delivered."""
    plain = ["in_transit"] * max(count - len(LAST_SCANS), 0)
    return [*plain, *LAST_SCANS[-count:]] if count else []


def plain_scans(count: int) -> int:
    """How many of `count` scans are plain `in_transit` ones."""
    return max(count - len(LAST_SCANS), 0)


def growth(
    after: dict[int, dict[str, Any]], completed: dict[str, Any], scans: int
) -> dict[str, Any]:
    """Per scan (the plain `in_transit` ones) and what that means against the order's
    continue-as-new budget and Temporal's limits."""
    plain = plain_scans(scans)
    if plain == 0:
        return {}
    events_per_scan = (after[plain]["events"] - after[0]["events"]) / plain
    bytes_per_scan = (after[plain]["bytes"] - after[0]["bytes"]) / plain
    # What a completed order holds besides its plain scans: the happy path, the delivery,
    # the after-sales window and the completion.
    fixed_events = completed["events"] - events_per_scan * plain
    fixed_bytes = completed["bytes"] - bytes_per_scan * plain

    def scans_to(events: int, size: int) -> dict[str, int]:
        by_events = math.ceil((events - fixed_events) / events_per_scan)
        by_bytes = math.ceil((size - fixed_bytes) / bytes_per_scan)
        return {"by_events": by_events, "by_bytes": by_bytes, "scans": min(by_events, by_bytes)}

    budget = PolicySettings().history_event_budget
    first, last = Counter(after[0]["by_kind"]), Counter(after[plain]["by_kind"])
    return {
        "events_per_scan": round(events_per_scan, 2),
        "bytes_per_scan": round(bytes_per_scan),
        "kinds_per_scan": {
            kind: round((last[kind] - first[kind]) / plain, 2)
            for kind in sorted(set(first) | set(last))
            if last[kind] != first[kind]
        },
        **{
            f"{event}_scan": {
                "events": after[n]["events"] - after[n - 1]["events"],
                "bytes": after[n]["bytes"] - after[n - 1]["bytes"],
            }
            for n, event in enumerate(LAST_SCANS, start=plain + 1)
        },
        "fixed": {"events": round(fixed_events), "bytes": round(fixed_bytes)},
        "scans_before": {
            "order_budget": {
                "events": budget,
                # The budget counts events only (workflows/order.py `_history_is_long`).
                "scans": math.ceil((budget - fixed_events) / events_per_scan),
            },
            **{
                name: {"events": events, "bytes": size, **scans_to(events, size)}
                for name, (events, size) in TEMPORAL_LIMITS.items()
            },
        },
        "feed_event_limit": PolicySettings().feed_event_limit,
    }


async def measure(options: ScansOptions, workdir: Path) -> dict[str, Any]:
    if options.scans < 1:
        raise SystemExit("--scans: at least 1 (the delivery)")
    results: dict[str, Any] = {}
    metrics_port = free_port()
    with database_url(workdir, postgres=options.postgres) as url:
        staff = seed(url)
        config = ClusterConfig(
            database_url=url,
            env=options.env,
            server_args=(*options.server_args, "--metrics-port", str(metrics_port)),
            server_db=options.server_db,
            after_sales_seconds=options.after_sales_seconds,
        )
        async with (
            Cluster(workdir, config, name="scans") as cluster,
            httpx.AsyncClient(base_url=cluster.api_url, timeout=60) as http,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{metrics_port}", timeout=10) as metrics,
        ):
            assert cluster.client is not None
            results["tuning"] = cluster.tuning()
            namespace = cluster.settings.temporal_namespace
            order_id = f"SCANS-{uuid.uuid4().hex[:10].upper()}"
            workflow_id = order_workflow_id(order_id)
            tracking_number = f"SIMB{uuid.uuid4().hex[:10].upper()}"
            # The same secret the API reads (var/carrier-secrets.json of the system's var dir).
            secret = carrier_secret(cluster.settings, CARRIER)
            handle = cluster.client.get_workflow_handle(workflow_id)
            driver = HttpDriver(http, staff)
            requests = {"start": await quiet_requests(metrics, namespace)}
            await _to_dispatch(http, driver, order_id, tracking_number)
            await _settled(cluster.client, workflow_id, signals=0)
            await asyncio.sleep(METRICS_LAG)
            requests["dispatched"] = await persistence_requests(metrics, namespace)
            after = {0: size_of(await handle.fetch_history())}
            base_signals = after[0]["signals"]
            before = cluster.usage()
            round_trips = []
            for n, event in enumerate(scan_events(options.scans), start=1):
                round_trips.append(await _post_scan(http, secret, tracking_number, n, event))
                await _settled(cluster.client, workflow_id, signals=base_signals + n)
                after[n] = size_of(await handle.fetch_history())
                if n == plain_scans(options.scans):
                    await asyncio.sleep(METRICS_LAG)
                    requests["plain_scans"] = await persistence_requests(metrics, namespace)
            used = cluster.usage()
            await asyncio.wait_for(handle.result(), timeout=options.after_sales_seconds + 60)
            completed = size_of(await handle.fetch_history())
            await asyncio.sleep(METRICS_LAG)
            requests["completed"] = await persistence_requests(metrics, namespace)
    scans = options.scans
    shown = sorted({c for c in CHECKPOINTS if c <= scans} | {scans})
    results.update(
        {
            "scans": scans,
            "after_scans": {
                str(n): {k: v for k, v in after[n].items() if k != "by_kind"} for n in shown
            },
            "completed": {k: v for k, v in completed.items() if k != "by_kind"},
            "per_scan": growth(after, completed, scans),
            "persistence_writes": persistence_figures(requests, scans),
            "callback_ms": summarise(round_trips).as_dict(),
            "cpu_ms_per_scan": {
                role: round(1000 * (used[role].cpu_seconds - before[role].cpu_seconds) / scans, 1)
                for role in ("server", "worker", "api")
            }
            if scans
            else {},
        }
    )
    return results


def persistence_figures(requests: dict[str, Counter[str]], scans: int) -> dict[str, Any]:
    """The order's writes to Temporal's store: to dispatch, per plain scan, and from the
    last plain scan to the completion (the last two scans and the after-sales window)."""
    figures: dict[str, Any] = {
        "whole_order": writes(requests["completed"] - requests["start"]),
        "to_dispatch": writes(requests["dispatched"] - requests["start"]),
    }
    plain = plain_scans(scans)
    if plain and "plain_scans" in requests:
        scanned = writes(requests["plain_scans"] - requests["dispatched"])
        figures["per_plain_scan"] = {op: round(n / plain, 2) for op, n in scanned.items()}
        figures["last_scans_to_completed"] = writes(requests["completed"] - requests["plain_scans"])
    return figures


def markdown(results: dict[str, Any]) -> str:
    m, v = results["machine"], results["versions"]
    scans = results["scans"]
    lines = [
        f"# Scans run {results['started_at']} {results.get('label') or ''}".rstrip(),
        "",
        f"Machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_bytes'] / 2**30:.1f} GiB; "
        f"load average before {results['load_average_before']}. Versions: Python "
        f"{v['python']}, temporalio {v['temporalio']}, {v['temporal_cli']}. Worker and API: "
        + ", ".join(f"{name}={value}" for name, value in results["tuning"].items())
        + ".",
        "",
        f"One order over HTTP to dispatch with the carrier `{CARRIER}`, then {scans} signed "
        f"carrier callbacks one at a time ({plain_scans(scans)} `in_transit`, then "
        f"{', '.join(f'`{e}`' for e in LAST_SCANS[-scans:])}), each taken by the workflow "
        "before the next; the after-sales window "
        f"{results['after_sales_seconds']} s, then completed.",
        "",
    ]
    rows = [
        [f"after {n} scans", str(s["events"]), str(s["bytes"]), fmt(s["bytes"] / 1024)]
        for n, s in results["after_scans"].items()
    ]
    done = results["completed"]
    rows.append(["completed", str(done["events"]), str(done["bytes"]), fmt(done["bytes"] / 1024)])
    lines += table(["history", "events", "bytes", "KB"], rows)
    per = results["per_scan"]
    if per:
        kinds = ", ".join(f"{k} {fmt(c, 2)}" for k, c in per["kinds_per_scan"].items())
        lines += [
            f"Per `in_transit` scan ({plain_scans(scans)}): **{per['events_per_scan']} events, "
            f"{per['bytes_per_scan']} bytes** ({kinds}). The `out_for_delivery` scan (a "
            f"message to the customer): {per['out_for_delivery_scan']['events']} events, "
            f"{per['out_for_delivery_scan']['bytes']} bytes; the `delivered` scan: "
            f"{per['delivered_scan']['events']} events, {per['delivered_scan']['bytes']} bytes. "
            f"A completed order without its `in_transit` scans: {per['fixed']['events']} "
            f"events, {per['fixed']['bytes']} bytes.",
            "",
        ]
        before = per["scans_before"]
        rows = [
            [
                "the order's continue-as-new budget (history_event_budget)",
                str(before["order_budget"]["events"]),
                "–",
                str(before["order_budget"]["scans"]),
            ]
        ]
        names = {
            "suggest_continue_as_new": "Temporal suggests continue-as-new",
            "warn": "Temporal warns",
            "error": "Temporal terminates the run",
        }
        for name, title in names.items():
            limit = before[name]
            rows.append(
                [
                    title,
                    str(limit["events"]),
                    f"{limit['bytes'] // MIB} MiB",
                    f"{limit['scans']} (events {limit['by_events']}, bytes {limit['by_bytes']})",
                ]
            )
        lines += table(["limit", "events", "bytes", "scans before it"], rows)
        lines += [
            f"Past {per['feed_event_limit']} tracking events (feed_event_limit) a scan that "
            "changes nothing is no longer recorded by the order (its signal still is).",
            "",
        ]
    lines += persistence_lines(results["persistence_writes"])
    cb, cpu = results["callback_ms"], results["cpu_ms_per_scan"]
    if cpu:
        lines += [
            f"Callback round trip p50 / p95 / max: {fmt(cb['p50'])} / {fmt(cb['p95'])} / "
            f"{fmt(cb['max'])} ms. CPU per scan (server / worker / API, with the driver's "
            f"polling of the history): {cpu['server']} / {cpu['worker']} / {cpu['api']} ms.",
        ]
    return "\n".join(lines)


def persistence_lines(figures: dict[str, Any]) -> list[str]:
    """The writes to Temporal's store as a table: operations by part of the order's life."""
    parts = {
        "to_dispatch": "create to in transit",
        "per_plain_scan": "per `in_transit` scan",
        "last_scans_to_completed": "last two scans to completed",
        "whole_order": "the whole order",
    }
    shown = [part for part in parts if part in figures]
    ops = sorted({op for part in shown for op in figures[part] if op != "total"})
    rows = [[op, *(fmt(figures[part].get(op, 0), 2) for part in shown)] for op in ops]
    rows.append(["**writes**", *(f"**{fmt(figures[part]['total'], 2)}**" for part in shown)])
    return [
        "Writes to Temporal's store (the dev server's `persistence_requests` of the "
        "namespace, and its visibility requests):",
        "",
        *table(["operation", *(parts[part] for part in shown)], rows),
    ]


async def scans(options: ScansOptions) -> dict[str, Any]:
    """Measure, write the results (JSON and Markdown) to `options.out_dir`, print the table."""
    workdir = Path(tempfile.mkdtemp(prefix="oms-scans-"))
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": options.label,
        "machine": machine(),
        "versions": versions(temporal_binary()),
        "load_average_before": load_average(),
        "after_sales_seconds": options.after_sales_seconds,
    }
    clock = time.monotonic()
    try:
        results.update(await measure(options, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["duration_seconds"] = round(time.monotonic() - clock, 1)
    results["load_average_after"] = load_average()
    json_path, md_path = write(results, options.out_dir, kind="scans", render=markdown)
    print(md_path.read_text(), end="")
    print(f"results: {json_path} and .md", file=sys.stderr)
    return results
