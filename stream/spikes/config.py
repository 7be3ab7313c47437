"""The detector's settings. Defaults are what `backtest` and the worker use; docs/spike-detection.md says why."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class DetectorConfig:
    # Buckets: counts are kept per bucket; empty buckets count as zero.
    bucket_seconds: int = 60
    origin_epoch: float = 0.0  # bucket boundaries are origin + k * bucket (a CSV's first row, for backtests)
    # Seasonal baseline: history kept at >= 5-minute slots, compared by time of day and time of week.
    slot_seconds: int = 300
    history_days: int = 15  # two weeks of lags plus the smoothing margin
    daily_lags: int = 7
    weekly_lags: int = 2
    season_halfwidth: int = 2  # slots either side averaged, so one odd slot is not the baseline
    # Recent level: the seasonal shape is scaled by how the last hours compared with it (growth, weekends).
    level_minutes: int = 120
    level_prior: float = 5.0  # pseudo-count pulling the level ratio to 1 when counts are few
    # Significance: scan windows of 1..8 buckets; a window must pass every gate.
    windows: tuple[int, ...] = (1, 2, 4, 8)
    threshold: float = 5.5  # -log10 p to open an incident
    keep_threshold: float = 2.0  # -log10 p that keeps it open (hysteresis)
    min_count: int = 8  # posts in the window: five grumpy posts at 3 a.m. are not an incident
    min_excess: float = 5.0  # posts above the expected level
    min_ratio: float = 1.5  # observed / expected
    keep_ratio: float = 1.2
    # The still-open bucket (mentions only): tested on its count so far against the whole bucket's level
    # (it can only grow: no threshold change needed), and from this share of the bucket on, also against
    # the pro-rated level with a stricter threshold, since each look is one more chance of a false alarm.
    early_share: float = 0.5
    early_extra_threshold: float = 1.0
    dispersion_min: float = 0.01  # a floor on var = mu + d * mu^2: no series is ever purely Poisson
    dispersion_start: float = 0.1  # assumed until the series has taught us its own noise
    dispersion_span_buckets: int = 288
    # Calibration to the series' own history (`calibration.py`): a series that rises "significantly" more
    # often than this many times a week has heavier tails than the noise model; its scores are scaled so
    # that its usual 1-in-100 bucket scores like a 1-in-100 bucket of a well-modelled series.
    calibration_rate_per_week: float = 4.0
    calibration_quantile: float = 0.99
    calibration_reference: float = 2.6  # -log10 p of that quantile when the model fits (max over 4 windows)
    calibration_half_life_days: float = 7.0
    calibration_min_buckets: int = 50
    calibration_gap_minutes: int = 60  # rises closer than this are one excursion
    # Life of an incident.
    warmup_minutes: int = 20
    warmup_buckets: int = 12
    resolve_minutes: int = 20  # quiet this long: resolved
    cooldown_minutes: int = 120  # a new rise this soon after is the same incident, reopened
    max_open_hours: int = 12
    update_every_minutes: int = 10  # at most one update alert per incident this often (plus peaks)
    # Silence: a normally busy series goes to zero ("the listener died").
    silence_minutes: int = 15
    silence_threshold: float = 6.0
    silence_min_expected: float = 20.0
    # Context carried on an alert.
    top_terms: int = 8
    sample_ids: int = 5
    max_spike_texts: int = 300
    baseline_terms_cap: int = 4000

    def __post_init__(self) -> None:
        if self.bucket_seconds <= 0:
            raise ValueError("bucket_seconds must be positive")
        if not self.windows or min(self.windows) < 1:
            raise ValueError("windows must be positive bucket counts")

    # Derived sizes, in buckets and slots of this config.
    def minutes_to_buckets(self, minutes: float, least: int = 1) -> int:
        return max(least, math.ceil(minutes * 60 / self.bucket_seconds))

    @property
    def slot_buckets(self) -> int:
        return max(1, round(self.slot_seconds / self.bucket_seconds))

    @property
    def slots_per_day(self) -> int:
        return max(1, round(86400 / (self.slot_buckets * self.bucket_seconds)))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["windows"] = list(self.windows)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "windows" in values:
            values["windows"] = tuple(values["windows"])
        return cls(**values)
