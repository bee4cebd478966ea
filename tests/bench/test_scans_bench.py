"""The carrier-scans benchmark (bench/scans.py), run for real on one order and three scans:
its own dev server, worker and API, signed carrier callbacks, the history after each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main


def test_three_scans_measure_the_history_per_scan_and_against_temporals_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    argv = ["scans", "--scans", "3", "--after-sales", "1", "--out", str(tmp_path)]
    assert main([*argv, "--set", "OMS_WORKER_PROCESSES=1", "--label", "test"]) == 0

    [written] = tmp_path.glob("*-scans-test.json")
    results = json.loads(written.read_text())
    after = results["after_scans"]
    assert list(after) == ["0", "3"]
    assert after["0"]["signals"] == 0 and after["3"]["signals"] == 3
    assert after["0"]["events"] < after["3"]["events"] < results["completed"]["events"]
    assert after["0"]["bytes"] < after["3"]["bytes"] < results["completed"]["bytes"]

    per = results["per_scan"]
    # A scan is at least its signal and the workflow task that takes it.
    assert per["events_per_scan"] >= 4 and per["bytes_per_scan"] > 0
    assert per["kinds_per_scan"]["workflow_execution_signaled"] == 1
    assert per["delivered_scan"]["events"] > 0 and per["out_for_delivery_scan"]["events"] > 0
    before = per["scans_before"]
    assert set(before) == {"order_budget", "suggest_continue_as_new", "warn", "error"}
    assert (before["warn"]["events"], before["warn"]["bytes"]) == (10_240, 10 * 2**20)
    assert (
        before["order_budget"]["scans"]
        < before["suggest_continue_as_new"]["scans"]
        < before["warn"]["scans"]
        < before["error"]["scans"]
    )
    assert set(results["cpu_ms_per_scan"]) == {"server", "worker", "api"}

    # Writes to Temporal's store, read from the dev server's metrics: one order started, and
    # each scan at least one update of the workflow's state.
    stored = results["persistence_writes"]
    assert stored["whole_order"]["CreateWorkflowExecution"] == 1
    assert stored["per_plain_scan"]["UpdateWorkflowExecution"] >= 1
    assert stored["whole_order"]["total"] == sum(
        stored[part]["total"] for part in ("to_dispatch", "last_scans_to_completed")
    ) + round(stored["per_plain_scan"]["total"])

    printed = capsys.readouterr().out
    assert "| after 3 scans |" in printed and "Temporal warns" in printed
    assert "| **writes** |" in printed
    assert (tmp_path / written.name.replace(".json", ".md")).read_text().strip() == printed.strip()
