"""Calibrating spike scores to how bursty a series has been.

The noise model (negative binomial with a learned dispersion) fits synthetic and steady series, but real
social volume is heavier-tailed: on public tweet-volume series 2-7 % of 5-minute buckets score above the
paging threshold, which under the model should happen about once in 80,000. Such a series would page
several times a day for bursts its own history shows to be ordinary.

So each series keeps the distribution of its per-bucket scores (all buckets, gates off, decayed with a
half-life of a week) and counts its excursions (runs of buckets above the threshold, an hour apart or more).
While excursions stay at or under `calibration_rate_per_week`, scores are left alone: a series that rises
rarely is the model's home ground, and there every real burst should page. Above that rate, scores are
scaled by reference / q, where q is the series' own 99th-percentile score and the reference is what that
quantile is under the model, fading in between one and two times the rate. The scaled score is what the
gates, the threshold and the alert's `score` use: how unusual the rise is for this series.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from stream.spikes.config import DetectorConfig

_STEP = 0.1  # histogram bin width in -log10 p
_BINS = 1_000  # scores at or above 100 share the last bin: the quantile of interest is far below
_RENORMALISE_AT = 1e100


class Calibration:
    """Per-series score history and the factor that maps a raw score onto the calibrated scale."""

    def __init__(self, config: DetectorConfig) -> None:
        self.cfg = config
        self.weights: dict[int, float] = {}  # bin -> decayed weight (sparse: most scores are small)
        self.total = 0.0
        self.growth = 1.0  # new weights grow instead of old ones decaying: O(1) per bucket
        self._grow = 2 ** (config.bucket_seconds / (config.calibration_half_life_days * 86400))
        self.seen = 0  # buckets observed
        self.since_high = 1 << 30  # buckets since the last one above the threshold
        self.excursions: deque[int] = deque()  # bucket numbers where an excursion started
        self.quantile = 0.0
        self._span = max(1, round(14 * 86400 / config.bucket_seconds))  # excursions counted over two weeks
        self._gap = config.minutes_to_buckets(config.calibration_gap_minutes)

    def add(self, score: float) -> None:
        """One closed bucket's raw score (the most unusual window ending there, 0 when not above expected)."""
        self.seen += 1
        self.growth *= self._grow
        if self.growth > _RENORMALISE_AT:
            self.weights = {b: w / self.growth for b, w in self.weights.items() if w / self.growth > 1e-12}
            self.total = sum(self.weights.values())
            self.growth = 1.0
        b = min(_BINS - 1, int(score / _STEP))
        self.weights[b] = self.weights.get(b, 0.0) + self.growth
        self.total += self.growth
        if score >= self.cfg.threshold:
            if self.since_high >= self._gap:
                self.excursions.append(self.seen)
            self.since_high = 0
        else:
            self.since_high += 1
        while self.excursions and self.excursions[0] <= self.seen - self._span:
            self.excursions.popleft()
        if self.seen < 300 or self.seen % 6 == 0:  # the quantile moves slowly: recompute now and then
            self.quantile = self._quantile(self.cfg.calibration_quantile)

    def _quantile(self, q: float) -> float:
        target = self.total * (1 - q)
        acc = 0.0
        for b in sorted(self.weights, reverse=True):
            acc += self.weights[b]
            if acc >= target:
                return b * _STEP
        return 0.0

    @property
    def rate_per_week(self) -> float:
        weeks = min(self.seen, self._span) * self.cfg.bucket_seconds / (7 * 86400)
        return len(self.excursions) / max(weeks, 1.0)

    def factor(self) -> float:
        c = self.cfg
        if self.seen < c.calibration_min_buckets or self.quantile <= c.calibration_reference:
            return 1.0
        fade = min(1.0, max(0.0, (self.rate_per_week - c.calibration_rate_per_week) / c.calibration_rate_per_week))
        if fade == 0.0:
            return 1.0
        return float((c.calibration_reference / self.quantile) ** fade)

    # -- state ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        g = self.growth
        return {
            "weights": {str(b): round(w / g, 8) for b, w in self.weights.items() if w / g > 1e-8},
            "seen": self.seen,
            "since_high": min(self.since_high, 1 << 30),
            "excursions": [self.seen - e for e in self.excursions],  # ages, so growth need not be stored
            "quantile": self.quantile,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], config: DetectorConfig) -> Calibration:
        c = cls(config)
        c.weights = {int(b): float(w) for b, w in data.get("weights", {}).items()}
        c.total = sum(c.weights.values())
        c.seen = int(data.get("seen", 0))
        c.since_high = int(data.get("since_high", 1 << 30))
        c.excursions.extend(c.seen - int(age) for age in data.get("excursions", []))
        c.quantile = float(data.get("quantile", 0.0))
        return c
