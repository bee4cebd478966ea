"""The arithmetic of the benchmark's figures."""

from __future__ import annotations

import math

import pytest

from bench.stats import completion_rate, percentile, summarise


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([5.0], 0.99, 5.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 0.5, 3.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 0.0, 1.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 1.0, 5.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 0.95, 4.8),
        ([10.0, 20.0], 0.99, 19.9),
    ],
)
def test_percentiles_interpolate_between_the_closest_ranks(values, fraction, expected):
    assert percentile(values, fraction) == pytest.approx(expected)


def test_a_summary_is_in_milliseconds_and_knows_its_tail():
    summary = summarise([0.010] * 98 + [0.500, 1.000])
    assert summary.count == 100
    assert summary.p50 == pytest.approx(10.0)
    assert summary.p99 == pytest.approx(505.0)
    assert summary.max == pytest.approx(1000.0)


def test_an_empty_summary_says_nothing_rather_than_zero():
    assert math.isnan(summarise([]).p99)
    assert summarise([]).count == 0


def test_the_rate_counts_completions_between_the_first_and_the_last():
    # Eleven completions 0.1 s apart: ten intervals in one second, whatever came before.
    times = [100.0 + i / 10 for i in range(11)]
    assert completion_rate(times) == pytest.approx(10.0)
    assert math.isnan(completion_rate([1.0]))
