"""Latency summaries (percentiles) and rates over a measured window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default method)."""
    if not sorted_values:
        return float("nan")
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    """Milliseconds."""

    count: int
    mean: float
    p50: float
    p95: float
    p99: float
    max: float

    def as_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def summarise(seconds: Sequence[float]) -> Summary:
    values = sorted(s * 1000 for s in seconds)
    if not values:
        nan = float("nan")
        return Summary(0, nan, nan, nan, nan, nan)
    return Summary(
        count=len(values),
        mean=sum(values) / len(values),
        p50=percentile(values, 0.50),
        p95=percentile(values, 0.95),
        p99=percentile(values, 0.99),
        max=values[-1],
    )


def completion_rate(times: Sequence[float]) -> float:
    """Completions per second between the first and the last of them (steady-state rate).

    Measuring between completions, not from the first start, leaves out the time the
    first item needs to get through (and an order's after-sales timer), which is
    latency, not throughput.
    """
    if len(times) < 2:
        return float("nan")
    ordered = sorted(times)
    span = ordered[-1] - ordered[0]
    return (len(ordered) - 1) / span if span > 0 else float("nan")
