"""Incident-stage arithmetic: event time against the bench clock, which alert counts, which figure is which."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.bench.incident import Clock, alert_value, figures, first_open_spike
from stream.schema import SpikeAlert

ONSET = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def alert(status: str = "open", kind: str = "spike", detected_at: str = "2026-11-23T12:02:00Z") -> SpikeAlert:
    return SpikeAlert(dedupe_key="spike:skyway:-", kind=kind, brand="skyway", window_start="2026-11-23T12:00:00Z",
                      window_end=detected_at, observed=30, expected=6.0, score=7.5, detected_at=detected_at,
                      status=status)


def test_clock_maps_event_time_onto_the_bench_counter() -> None:
    clock = Clock(ONSET, 1000.0)
    assert clock.perf_of(ONSET) == 1000.0
    assert clock.perf_of(ONSET + timedelta(seconds=90.5)) == pytest.approx(1090.5)
    assert clock.perf_of(ONSET - timedelta(minutes=30)) == pytest.approx(-800.0)


def test_figures_are_seconds_from_the_surge_start() -> None:
    clock = Clock(ONSET - timedelta(seconds=30), 500.0)  # the surge starts 30 s after the anchor: at 530.0
    fig = figures(ONSET, clock, alert(), alert_seen=652.0, delivered=653.5)
    assert fig == {"decided": pytest.approx(120.0), "on_topic": pytest.approx(122.0),
                   "delivered": pytest.approx(123.5)}


def test_no_delivery_is_no_figure_rather_than_zero() -> None:
    fig = figures(ONSET, Clock(ONSET, 0.0), alert(), alert_seen=150.0, delivered=None)
    assert fig["delivered"] is None


def test_the_first_open_spike_is_the_earliest_open_one_whatever_the_order() -> None:
    early, late = alert(), alert(detected_at="2026-11-23T12:03:00Z")
    seen = [(9.0, alert(status="update")), (7.0, late), (5.0, early), (1.0, alert(kind="silence"))]
    assert first_open_spike(seen) == (5.0, early)
    assert first_open_spike([(1.0, alert(status="update"))]) is None


def test_alert_arrivals_are_keyed_by_the_whole_message() -> None:
    assert alert_value(b"k", b'{"a":1}') == '{"a":1}'
    assert alert_value(b"k", None) is None
