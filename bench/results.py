"""A run's results as JSON (everything) and Markdown (the tables), in bench/results/."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

ACTIONS = ("create", "intake", "review", "pack", "dispatch", "tracking")
PATH_NAMES = {"update": "Temporal client", "http": "HTTP API", "baseline": "baseline"}
PHASE_NAMES = {
    "baseline": "baseline: 5-activity workflow",
    "client": "orders via Temporal client",
    "http": "orders via HTTP API",
    "client_half": "orders via client, half load",
    "http_half": "orders via HTTP, half load",
}


def fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _mb(value: float) -> str:
    return f"{value:.0f}"


def throughput_rows(phases: dict[str, Any]) -> list[list[str]]:
    base = phases.get("baseline", {}).get("per_second")
    rows = []
    for name, phase in phases.items():
        rate = phase["per_second"]
        share = f"{100 * rate / base:.0f}%" if base and name != "baseline" else "–"
        load = (
            f"{phase['concurrency']} in flight"
            if phase.get("mode") == "saturate"
            else f"{phase.get('target_rate')}/s offered"
        )
        cpu = phase["cpu_ms_per_item"]
        e2e = phase["end_to_end_ms"]
        rows.append(
            [
                PHASE_NAMES.get(name, name),
                load,
                f"{phase['completed']}/{phase['items']}",
                fmt(rate, 2),
                share,
                f"{fmt(e2e['p50'], 0)} / {fmt(e2e['p99'], 0)}",
                f"{fmt(cpu['server'], 0)} / {fmt(cpu['worker'], 0)} / {fmt(cpu['api'], 0)} / "
                f"{fmt(cpu['driver'], 0)}",
                f"{100 * phase['machine_busy']:.0f}% + {100 * phase.get('others_busy', 0):.0f}%",
                str(phase["errors"]),
                f"{phase.get('inbox_looks', 0)} / "
                f"{phase.get('early_retries', 0) / max(phase['items'], 1):.2f}",
            ]
        )
    return rows


def action_rows(phases: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, phase in phases.items():
        if phase["path"] == "baseline":
            continue
        for action in ACTIONS:
            summary = phase["actions_ms"].get(action)
            if not summary:
                continue
            rows.append(
                [
                    PHASE_NAMES.get(name, name),
                    action,
                    str(summary["count"]),
                    fmt(summary["p50"]),
                    fmt(summary["p95"]),
                    fmt(summary["p99"]),
                    fmt(summary["max"]),
                ]
            )
    return rows


def markdown(results: dict[str, Any]) -> str:
    m, v, o = results["machine"], results["versions"], results["options"]
    lines = [
        f"# Benchmark run {results['started_at']}"
        + (f" ({results['label']})" if results.get("label") else ""),
        "",
        f"Machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_bytes'] / 2**30:.1f} GiB, "
        f"kernel {m['kernel']}; load average before {results['load_average_before']}, "
        f"after {results.get('load_average_after')}.",
        f"Versions: Python {v['python']}, temporalio {v['temporalio']}, {v['temporal_cli']}, "
        f"pydantic {v['pydantic']}, FastAPI {v['fastapi']}, uvicorn {v['uvicorn']}, "
        f"SQLAlchemy {v['SQLAlchemy']}.",
        f"Settings: {o['orders']} measured orders per phase after {o['warmup']} warm-up, "
        f"{o['concurrency']} in flight, {o['tracking_events_per_order']} tracking event(s) per "
        f"order, after-sales window {o['after_sales_window_seconds']} s, read model "
        f"{o['read_model']}, Temporal store {o['temporal_store']}, "
        f"extra settings {o['env'] or 'none'}. Duration {results.get('duration_seconds')} s.",
        "",
    ]
    if results.get("tuning"):
        lines += [
            "Worker and API: "
            + ", ".join(f"{name}={value}" for name, value in results["tuning"].items())
            + "; dev server: "
            + " ".join(o["server_args"])
            + ".",
            "",
        ]
    phases = results.get("phases", {})
    if phases:
        lines += ["## Throughput", ""]
        lines += table(
            [
                "phase",
                "load",
                "completed",
                "per second",
                "of baseline",
                "end-to-end p50 / p99 ms",
                "CPU ms per item: server / worker / API / driver",
                "cores busy: ours + others",
                "errors",
                "inbox looks / early reviews per order",
            ],
            throughput_rows(phases),
        )
        lines += ["## Round trips of each step (ms)", ""]
        lines += table(["phase", "step", "n", "p50", "p95", "p99", "max"], action_rows(phases))
        lines += ["## Memory after each phase (MB RSS)", ""]
        lines += table(
            ["phase", "server", "worker(s)", "API", "driver"],
            [
                [
                    PHASE_NAMES.get(name, name),
                    *(_mb(phase["rss_mb"][r]) for r in ("server", "worker", "api", "driver")),
                ]
                for name, phase in phases.items()
            ],
        )
    for key, title in (("order_history", "an order"), ("baseline_history", "a baseline workflow")):
        history = results.get(key)
        if not history or not history.get("histories"):
            continue
        lines += [
            f"## History of {title} ({history['histories']} histories)",
            "",
            f"Events: mean {history['events_mean']}, min {history['events_min']}, max "
            f"{history['events_max']}; bytes: mean {history['bytes_mean']}, max "
            f"{history['bytes_max']}; workflow tasks: mean {history['workflow_tasks_mean']}; "
            f"workflow task timeouts: {history.get('workflow_task_timeouts', 0)} (in "
            f"{history.get('histories_with_timeouts', 0)} of {history['histories']} histories).",
            "",
        ]
        lines += table(
            ["event type", "per history", "bytes per history"],
            [
                [kind, fmt(float(f["events"]), 2), str(f["bytes"])]
                for kind, f in history["by_kind"].items()
            ],
        )
    replay = results.get("replay")
    if replay:
        lines += ["## Replay", ""]
        lines += table(
            ["histories of", "replayed", "seconds", "per second"],
            [
                [name, str(r["histories"]), fmt(r["seconds"], 2), fmt(r["per_second"])]
                for name, r in replay.items()
            ],
        )
    comparisons = results.get("comparisons") or {}
    if comparisons:
        lines += ["## Before / after (same run, fresh system each side)", ""]
        rows = []
        for name, c in comparisons.items():
            for side in ("before", "after"):
                phase = c[side]
                review = phase["actions_ms"].get("review", {})
                cpu = phase["cpu_ms_per_item"]
                rows.append(
                    [
                        f"{name}: {c['what']}" if side == "before" else "",
                        side,
                        PATH_NAMES[c["path"]],
                        fmt(phase["per_second"], 2),
                        f"{fmt(review.get('p50'))} / {fmt(review.get('p99'))}",
                        f"{fmt(cpu['server'], 0)} / {fmt(cpu['worker'], 0)} / {fmt(cpu['api'], 0)}",
                        str(phase["errors"]),
                    ]
                )
        lines += table(
            [
                "change",
                "side",
                "path",
                "orders/s",
                "review p50 / p99 ms",
                "CPU ms per order: server / worker / API",
                "errors",
            ],
            rows,
        )
    return "\n".join(lines)


def write(
    results: dict[str, Any],
    out_dir: Path,
    *,
    kind: str = "",
    render: Callable[[dict[str, Any]], str] = markdown,
) -> tuple[Path, Path]:
    """`<started_at>[-<kind>][-<label>].json` and `.md` (the text `render` makes)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = results["started_at"].replace(":", "").replace("+0000", "Z").replace("+00:00", "Z")
    name = stamp + (f"-{kind}" if kind else "")
    name += f"-{results['label']}" if results.get("label") else ""
    json_path = out_dir / f"{name}.json"
    md_path = out_dir / f"{name}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    md_path.write_text(render(results) + "\n")
    return json_path, md_path
