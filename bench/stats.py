"""Medians, spreads, percentiles and target verdicts. Pure Python: no app, no database."""

import math
import statistics
from dataclasses import dataclass


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the value below which `fraction` of the samples fall."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    """The median of several runs, with the lowest and highest run beside it."""

    median: float
    low: float
    high: float
    runs: list[float]

    @property
    def spread(self) -> float:
        """Half the range as a fraction of the median: ±x%."""
        if not self.median:
            return 0.0
        return (self.high - self.low) / 2 / self.median

    def as_dict(self) -> dict[str, object]:
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "spread": self.spread,
            "runs": self.runs,
        }


def summarize(runs: list[float]) -> Summary:
    clean = [r for r in runs if not math.isnan(r)]
    if not clean:
        return Summary(math.nan, math.nan, math.nan, runs)
    return Summary(statistics.median(clean), min(clean), max(clean), runs)


@dataclass(frozen=True)
class Target:
    """A figure's goal: at least (higher is better) or at most (lower is better)."""

    bound: float
    at_least: bool

    def met(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return value >= self.bound if self.at_least else value <= self.bound

    def describe(self, unit: str = "") -> str:
        sign = "≥" if self.at_least else "≤"
        return f"{sign} {self.bound:g}{unit}"

    def verdict(self, value: float) -> str:
        return "PASS" if self.met(value) else "MISS"
