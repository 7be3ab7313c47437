"""Scores calibrated to a series' own burstiness: heavy-tailed real volume must not page several times a day."""

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from stream.spikes import DetectorConfig, SpikeDetector
from stream.spikes.calibration import Calibration
from stream.spikes.synthetic import poisson

T0 = datetime(2024, 5, 6, 0, 0, tzinfo=UTC)
FIVE = DetectorConfig(bucket_seconds=300)
WEEK = 7 * 288  # 5-minute buckets


def test_a_series_that_rarely_rises_keeps_its_scores() -> None:
    cal = Calibration(FIVE)
    rng = random.Random(1)
    for _ in range(2 * WEEK):
        cal.add(rng.expovariate(2.3))  # -log10 p of a model that fits: exponential, rate ln 10
    assert cal.rate_per_week <= FIVE.calibration_rate_per_week
    assert cal.factor() == 1.0


def test_a_series_that_rises_every_few_hours_is_scaled_down_and_the_state_survives() -> None:
    cal = Calibration(FIVE)
    rng = random.Random(2)
    for i in range(2 * WEEK):
        cal.add(rng.uniform(10, 40) if i % 36 == 0 else rng.expovariate(1.0))  # a "spike" every 3 hours
    assert cal.rate_per_week > 2 * FIVE.calibration_rate_per_week
    assert 0.0 < cal.factor() < 0.5
    again = Calibration.from_dict(cal.to_dict(), FIVE)
    assert abs(again.factor() - cal.factor()) < 1e-6
    assert again.rate_per_week == cal.rate_per_week


def bursty_weeks(det: SpikeDetector, weeks: int, rng: random.Random, big_at: int | None = None) -> list[str]:
    """5-minute counts around 40 with frequent short 2-3x bursts (as real tweet volume has), and optionally one
    20x burst; returns the start of each incident opened."""
    opened = []
    burst_left = 0
    for i in range(weeks * WEEK):
        at = T0 + timedelta(minutes=5 * i)
        for alert in det.tick(at):
            if alert.status == "open" and alert.kind == "spike":
                opened.append(alert.window_start)
        if burst_left == 0 and rng.random() < 1 / 60:
            burst_left = rng.randint(1, 4)
        level = 40.0 * (rng.uniform(2, 3) if burst_left else 1.0)
        burst_left = max(0, burst_left - 1)
        if big_at is not None and big_at <= i < big_at + 6:
            level = 800.0
        det.observe_count(("brand", None), at, poisson(rng, level))
    return opened


def test_calibration_cuts_pages_on_a_bursty_series_but_a_real_surge_still_pages() -> None:
    big = 3 * WEEK + 100
    plain = SpikeDetector(replace(FIVE, calibration_rate_per_week=1e9), clock=lambda: T0)
    calibrated = SpikeDetector(FIVE, clock=lambda: T0)
    without = bursty_weeks(plain, 4, random.Random(3), big_at=big)
    with_cal = bursty_weeks(calibrated, 4, random.Random(3), big_at=big)
    surge = (T0 + timedelta(minutes=5 * big)).isoformat().replace("+00:00", "Z")[:16]
    assert len(without) > 2 * len(with_cal), (len(without), len(with_cal))
    assert any(start.startswith(surge) for start in with_cal), with_cal
