"""The open-orders benchmark (bench/scale.py), run for real on a few orders: its own dev
server on a file store, worker and API; orders left at review and delivered orders, then a
review and a return (P5.3) timed on orders cached and evicted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main


def test_a_small_scale_run_times_reviews_and_returns_and_weighs_the_file_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    store = tmp_path / "temporal.db"
    argv = ["scale", "--open", "12", "--samples", "4", "--concurrency", "4"]
    argv += ["--server-db", str(store), "--out", str(tmp_path), "--label", "test"]
    # A cache of 2 per process: the orders started first are evicted by the time of their review.
    assert main([*argv, "--set", "OMS_MAX_CACHED_WORKFLOWS=2"]) == 0

    [written] = tmp_path.glob("*-scale-test.json")
    results = json.loads(written.read_text())
    assert results["open_orders"] == 12 and results["starts_per_second"] > 0
    for path in ("http_cached", "update_cached", "http_evicted", "update_evicted"):
        assert results["review_ms"][path]["count"] == 2, path
        assert results["review_ms"][path]["p50"] > 0, path
    for path in ("http_cached", "http_evicted"):
        assert results["return_ms"][path]["count"] == 4, path
    assert results["rss_mb"]["open"]["server"] > 0  # read from /proc for real
    stored = results["temporal_store"]
    assert stored["kind"] == "file" and stored["path"] == str(store)
    assert stored["bytes"] >= store.stat().st_size > 0

    printed = capsys.readouterr().out
    assert "Temporal store: a SQLite file" in printed
    assert "| return asked for (P5.3) of one order |" in printed
    assert (tmp_path / written.name.replace(".json", ".md")).read_text().strip() == printed.strip()
