"""The benchmark harness, run for real on a handful of orders: its own dev server, worker and
API processes, the baseline and orders through both paths, histories and replay."""

from __future__ import annotations

import json
from pathlib import Path

from bench.options import RunOptions
from bench.results import write
from bench.run import run

ACTIONS = {"create", "intake", "review", "pack", "dispatch", "tracking"}


async def test_a_small_run_measures_baseline_and_orders_both_ways_and_writes_its_results(
    tmp_path: Path,
):
    options = RunOptions(
        orders=4,
        warmup=1,
        concurrency=2,
        half_orders=3,
        history_sample=8,
        after_sales_seconds=1,
        out_dir=tmp_path,
        label="test",
    )
    results = await run(options)

    phases = results["phases"]
    assert set(phases) == {"baseline", "client", "http", "client_half", "http_half"}
    for name, phase in phases.items():
        assert phase["errors"] == 0, (name, phase["error_samples"])
        assert phase["completed"] == phase["items"], name
        assert phase["per_second"] > 0, name
        assert phase["cpu_seconds"]["server"] > 0, name  # read from /proc for real
        assert phase["cpu_seconds"]["worker"] > 0, name
    for name in ("client", "http"):
        steps = phases[name]["actions_ms"]
        assert set(steps) == ACTIONS
        assert all(steps[a]["count"] == 4 for a in ACTIONS)
    assert phases["http"]["cpu_seconds"]["api"] > 0
    assert phases["client_half"]["target_rate"] == round(phases["client"]["per_second"] / 2, 2)

    # A happy-path order's history stays well under 150 events (issue 7), and it holds
    # one accepted and completed Update per staff action.
    history = results["order_history"]
    assert history["histories"] == 8
    assert history["events_max"] < 150
    # receive (the start, as POST /orders does it), review, pack, dispatch
    assert history["by_kind"]["workflow_execution_update_completed"]["events"] == 4
    assert results["baseline_history"]["events_mean"] == 35  # 5 activities: 6 tasks, 15 events

    assert all(r["per_second"] > 0 for r in results["replay"].values())
    assert results["versions"]["temporalio"] == "1.35.0"

    json_path, md_path = write(results, tmp_path)
    assert json.loads(json_path.read_text())["phases"]["client"]["completed"] == 4
    text = md_path.read_text()
    assert "## Throughput" in text and "orders via HTTP API" in text
