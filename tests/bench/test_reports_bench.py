"""The reports benchmark (bench/reports.py), run for real on a few hundred orders: it seeds a
read model, starts its own dev server and API, and times every report and KPI endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.reports import main


def test_a_small_run_times_every_report_endpoint_and_each_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # As from a shell: no payload key in the environment (the test suite sets one).
    monkeypatch.delenv("OMS_CODEC_KEYS", raising=False)
    monkeypatch.delenv("OMS_CODEC_ACTIVE_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # nor a var/codec-keys.json of a `make run` in the checkout
    figures = tmp_path / "reports.json"
    assert (
        main(["--backend", "sqlite", "--orders", "200", "--runs", "1", "--json", str(figures)]) == 0
    )
    timings = json.loads(figures.read_text())["timings"]
    assert {t["endpoint"] for t in timings} >= {"kpis, by day", "revenue, by day", "snapshots"}
    assert [t["endpoint"] for t in timings if t["status"] != 200] == []
