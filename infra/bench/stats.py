"""Percentiles and rates: the arithmetic every benchmark figure goes through, kept pure so it is tested."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) with linear interpolation between ranks (numpy's default method).

    Interpolation rather than nearest rank so small samples (a `--quick` run) still give smooth figures.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is outside 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rate(count: int, seconds: float) -> float | None:
    """Items per second; None when nothing measurable happened (no time passed or nothing counted)."""
    if count <= 0 or seconds <= 0:
        return None
    return count / seconds


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference == 0:
        return None
    return value / reference


@dataclass(frozen=True)
class Summary:
    """One measured figure: how many, how fast, and (when latencies were taken) their percentiles in seconds."""

    name: str
    count: int
    rate: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    note: str = ""

    @classmethod
    def of(cls, name: str, count: int, seconds: float, latencies: Sequence[float] = (), note: str = "") -> Summary:
        if not latencies:
            return cls(name, count, rate(count, seconds), note=note)
        return cls(name, count, rate(count, seconds), percentile(latencies, 50), percentile(latencies, 95),
                   percentile(latencies, 99), note)

    @classmethod
    def timings(cls, name: str, latencies: Sequence[float], note: str = "") -> Summary:
        """Percentiles of request times with no rate: queries are not mentions, so that column stays empty."""
        if not latencies:
            raise ValueError(f"{name}: no timings")
        return cls(name, len(latencies), None, percentile(latencies, 50), percentile(latencies, 95),
                   percentile(latencies, 99), note)

    @classmethod
    def once(cls, name: str, seconds: float, note: str = "") -> Summary:
        """A single measured duration (an incident's time to alert): every percentile column shows it."""
        return cls(name, 1, None, seconds, seconds, seconds, note)


@dataclass(frozen=True)
class Comparison:
    """A product figure next to its reference measured in the same run."""

    stage: str
    product: Summary
    reference: Summary | None = None

    @property
    def rate_ratio(self) -> float | None:
        return ratio(self.product.rate, self.reference.rate if self.reference else None)

    @property
    def p99_ratio(self) -> float | None:
        return ratio(self.product.p99, self.reference.p99 if self.reference else None)
