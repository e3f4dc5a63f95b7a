"""The benchmark's own arithmetic and its load walker (bench/ is pure here: no app, no DB)."""

import math

import pytest

from bench.load import Walker
from bench.stats import Target, percentile, summarize


@pytest.mark.parametrize(
    ("fraction", "expected"), [(0.5, 50.0), (0.99, 99.0), (1.0, 100.0), (0.001, 1.0)]
)
def test_percentile_is_nearest_rank_when_samples_are_one_to_hundred(
    fraction: float, expected: float
) -> None:
    samples = [float(n) for n in range(100, 0, -1)]
    assert percentile(samples, fraction) == expected


def test_percentile_is_nan_when_there_are_no_samples() -> None:
    assert math.isnan(percentile([], 0.99))


def test_summary_is_median_with_range_when_runs_differ() -> None:
    summary = summarize([300.0, 100.0, 200.0, math.nan])
    assert (summary.median, summary.low, summary.high) == (200.0, 100.0, 300.0)
    assert summary.spread == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("target", "value", "verdict"),
    [
        (Target(400, at_least=True), 400.0, "PASS"),
        (Target(400, at_least=True), 399.9, "MISS"),
        (Target(50, at_least=False), 50.0, "PASS"),
        (Target(50, at_least=False), 50.1, "MISS"),
        (Target(1.2, at_least=False), math.nan, "MISS"),
    ],
)
def test_verdict_follows_the_bound_when_value_is_at_or_past_it(
    target: Target, value: float, verdict: str
) -> None:
    assert target.verdict(value) == verdict


def test_walker_never_repeats_a_path_when_chains_run_out() -> None:
    walker = Walker([["a1", "a2"], ["b1"], ["c1", "c2", "c3"]], repeat=False)
    taken = []
    while (path := walker.next_path()) is not None:
        taken.append(path)
    assert taken == ["a1", "b1", "c1", "a2", "c2", "c3"]


def test_walker_abandons_a_chain_when_its_request_failed() -> None:
    walker = Walker([["a1", "a2", "a3"], ["b1", "b2"]], repeat=False)
    assert walker.next_path() == "a1"
    walker.drop_last()  # a1 failed: a2 would be refused, so the chain is given up
    assert [walker.next_path(), walker.next_path(), walker.next_path()] == ["b1", "b2", None]


def test_walker_starts_over_when_chains_may_repeat() -> None:
    walker = Walker([["x"], ["y"]], repeat=True)
    assert [walker.next_path() for _ in range(5)] == ["x", "y", "x", "y", "x"]
