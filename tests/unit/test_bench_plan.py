"""How much a fixed-rate pass sends and how long its last mention may take to come out."""

from __future__ import annotations

from infra.bench.stages import Plan


def test_fixed_count_is_rate_times_seconds_and_never_zero() -> None:
    assert Plan(count=1, rate=1000.0, seconds=10.0).fixed_count == 10_000
    assert Plan(count=1, rate=0.01, seconds=1.0).fixed_count == 1


def test_drain_timeout_allows_a_backlog_drained_at_fifty_a_second() -> None:
    assert Plan(count=1, rate=1000.0, seconds=10.0).drain_timeout == 60 + 10 + 10_000 / 50
    assert Plan(count=1, rate=200.0, seconds=5.0).drain_timeout == 60 + 5 + 1000 / 50
