"""Percentile and rate arithmetic behind every bench figure."""

from __future__ import annotations

import pytest

from infra.bench.kafka_io import due_time, latencies, scored_id, span
from infra.bench.stats import Comparison, Summary, percentile, rate, ratio


@pytest.mark.parametrize(("p", "expected"), [(0, 1.0), (50, 3.0), (100, 5.0), (25, 2.0), (90, 4.6), (99, 4.96)])
def test_percentile_interpolates_between_ranks(p: float, expected: float) -> None:
    assert percentile([5.0, 1.0, 4.0, 2.0, 3.0], p) == pytest.approx(expected)


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([0.25], 99) == 0.25


def test_percentile_matches_nearest_ranks_on_a_hundred_values() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 99) == pytest.approx(99.01)


def test_percentile_refuses_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


def test_rate_and_ratio_are_none_when_nothing_was_measured() -> None:
    assert rate(1000, 2.0) == 500
    assert rate(0, 2.0) is None
    assert rate(10, 0.0) is None
    assert ratio(80.0, 100.0) == 0.8
    assert ratio(None, 100.0) is None
    assert ratio(80.0, 0.0) is None


def test_summary_of_latencies() -> None:
    s = Summary.of("x", 4, 2.0, [0.1, 0.2, 0.3, 0.4])
    assert s.rate == 2.0
    assert s.p50 == pytest.approx(0.25)
    assert s.p99 == pytest.approx(0.397)
    assert Summary.of("y", 4, 2.0).p50 is None


def test_comparison_ratios() -> None:
    c = Comparison("scoring", Summary("a", 10, 800.0, p99=0.002), Summary("b", 10, 1000.0, p99=0.001))
    assert c.rate_ratio == pytest.approx(0.8)
    assert c.p99_ratio == pytest.approx(2.0)
    assert Comparison("x", Summary("a", 1, 1.0)).rate_ratio is None


def test_latencies_and_span_only_count_what_arrived() -> None:
    sent = {"a": 1.0, "b": 2.0, "c": 3.0}
    seen = {"a": 1.5, "b": 2.25}
    assert latencies(sent, seen, ["a", "b", "c"]) == [0.5, 0.25]
    assert span(sent, seen, ["a", "b", "c"]) == pytest.approx(1.25)
    assert span(sent, {}, ["a"]) == 0.0


def test_paced_schedule_is_fixed_from_the_start() -> None:
    assert due_time(10.0, 0, 1000) == 10.0
    assert due_time(10.0, 500, 1000) == pytest.approx(10.5)


def test_scored_id_reads_the_mention_inside() -> None:
    assert scored_id(b"brand", b'{"mention": {"id": "demo:1"}}') == "demo:1"
    assert scored_id(None, b"{not json") is None
    assert scored_id(None, None) is None
    assert scored_id(None, b'{"mention": {"id": 5}}') is None


def test_timings_have_percentiles_and_no_rate() -> None:
    s = Summary.timings("dashboard", [0.1, 0.3, 0.2, 0.4, 0.5])
    assert (s.count, s.rate) == (5, None)
    assert s.p50 == pytest.approx(0.3)
    assert s.p95 == pytest.approx(0.48)
    with pytest.raises(ValueError, match="no timings"):
        Summary.timings("nothing", [])


def test_once_shows_one_duration_in_every_percentile() -> None:
    s = Summary.once("incident", 141.0, note="goal 120 s")
    assert (s.count, s.rate, s.p50, s.p95, s.p99) == (1, None, 141.0, 141.0, 141.0)
    assert Comparison("incident", s, Summary.once("floor", 120.0)).p99_ratio == pytest.approx(141 / 120)
