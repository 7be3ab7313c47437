"""The expected count of one series, bucket by bucket: seasonal shape x recent level, and its noise.

Expected level (mu) for the next bucket:
- the *shape*: the median, over the previous days (same time of day) and, once there is enough history,
  the previous weeks (same time of week), of the cleaned counts around that time. Medians make earlier
  spikes irrelevant to tomorrow's baseline;
- the *level*: how the last couple of hours compared with their shape, so slow growth, a quiet weekend or a
  busy news day move the baseline within hours instead of days;
- before a full day of history, the mean of the recent cleaned counts (warm-up).
Noise: var = mu + d * mu^2 (negative binomial), with d learned from this series' own prediction errors,
pooled so that busy buckets weigh more than near-empty ones (whose errors say little about d).
Cleaning: what enters history is clipped to a few standard deviations around mu (one, in an incident), so
a burst barely moves the baseline, while a lasting change still pulls it along.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from stream.spikes.config import DetectorConfig
from stream.spikes.stats import score as tail_score

_MU_FLOOR = 1e-3
_CLIP_SD = 3.0
_RATIO_LIMITS = (0.25, 4.0)
_DISPERSION_MAX = 2.0
_DISPERSION_PRIOR_WEIGHT = 24.0


@dataclass(frozen=True, slots=True)
class Window:
    """The most unusual trailing window ending at the current bucket."""

    buckets: int
    observed: float
    expected: float
    score: float


def _median(values: list[float]) -> float:
    values.sort()
    n = len(values)
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2


class Baseline:
    """History and noise of one count series; `predict`, then `scan`, then `learn`, once per closed bucket."""

    def __init__(self, config: DetectorConfig) -> None:
        self.cfg = config
        self._m = config.slot_buckets
        self._spd = config.slots_per_day
        self.level_len = config.minutes_to_buckets(config.level_minutes, least=6)
        self.closed = 0  # buckets learned
        self.slot_idx: int | None = None  # absolute slot of the bucket being predicted
        self.slots: deque[float] = deque(maxlen=config.history_days * self._spd)  # mean clean count per bucket
        self.slot_sum = 0.0
        self.slot_n = 0
        self.shape: float | None = None  # per-bucket seasonal shape of the current slot
        self.recent: deque[tuple[float, float]] = deque(maxlen=self.level_len)  # (clean, shape or -1)
        self.last: deque[tuple[float, float]] = deque(maxlen=max(config.windows))  # (observed, mu)
        self.disp_num = 0.0
        self.disp_den = 0.0
        self.disp_weight = 0.0
        self.mu = 0.0  # prediction for the current bucket

    # -- prediction ---------------------------------------------------------------------------------
    @property
    def dispersion(self) -> float:
        w, w0 = self.disp_weight, _DISPERSION_PRIOR_WEIGHT
        data = self.disp_num / self.disp_den if self.disp_den > 0 else self.cfg.dispersion_start
        blended = (w * data + w0 * self.cfg.dispersion_start) / (w + w0)
        return min(_DISPERSION_MAX, max(self.cfg.dispersion_min, blended))

    def _slot_value(self, slot: int) -> float | None:
        assert self.slot_idx is not None
        pos = len(self.slots) - (self.slot_idx - slot)
        if 0 <= pos < len(self.slots):
            return self.slots[pos]
        return None

    def _smoothed(self, center: int) -> float | None:
        if self._slot_value(center) is None:
            return None
        w = self.cfg.season_halfwidth
        values = [v for s in range(center - w, center + w + 1) if (v := self._slot_value(s)) is not None]
        return sum(values) / len(values)

    def _seasonal_shape(self, slot: int) -> float | None:
        day = self._spd
        daily = [v for d in range(1, self.cfg.daily_lags + 1) if (v := self._smoothed(slot - d * day)) is not None]
        if not daily:
            return None
        week = 7 * self._spd
        weekly = [v for k in range(1, self.cfg.weekly_lags + 1) if (v := self._smoothed(slot - k * week)) is not None]
        day_med = _median(daily)
        if len(weekly) >= 2:
            return _median(weekly)
        if weekly:  # one week back is one sample: let it share the vote with the daily median
            return (day_med + weekly[0]) / 2
        return day_med

    def _enter_slot(self, slot: int) -> None:
        if self.slot_idx is not None and slot != self.slot_idx:
            if self.slot_n:
                self.slots.append(self.slot_sum / self.slot_n)
            # Slots skipped entirely (never happens with zero-filling, but a restored state might jump).
            for _ in range(min(slot - self.slot_idx - 1, self.slots.maxlen or 0)):
                self.slots.append(self.slots[-1] if self.slots else 0.0)
            self.slot_sum, self.slot_n = 0.0, 0
        if slot != self.slot_idx:
            self.slot_idx = slot
            self.shape = self._seasonal_shape(slot)

    def predict(self, bucket: int) -> float:
        """Expected count of `bucket` (the next bucket to close) from what was learned before it."""
        self._enter_slot(bucket // self._m)
        shape = self.shape
        seasonal = [(c, s) for c, s in self.recent if s >= 0] if shape is not None else []
        if shape is not None and seasonal:
            clean = sum(c for c, _ in seasonal)
            expected = sum(s for _, s in seasonal)
            prior = self.cfg.level_prior
            ratio = (clean + prior) / (expected + prior)
            ratio = min(_RATIO_LIMITS[1], max(_RATIO_LIMITS[0], ratio))
            mu = shape * ratio
        elif self.recent:
            mu = sum(c for c, _ in self.recent) / len(self.recent)
        else:
            mu = 0.0
        self.mu = max(_MU_FLOOR, mu)
        return self.mu

    def variance(self, mu: float) -> float:
        return mu + self.dispersion * mu * mu

    # -- significance -------------------------------------------------------------------------------
    def scan(self, observed: float, windows: tuple[int, ...], min_count: float, min_excess: float,
             min_ratio: float) -> Window | None:
        """The most significant trailing window (ending with `observed`) that passes every gate."""
        best: Window | None = None
        x_sum, mu_sum, n = observed, self.mu, 1
        history = reversed(self.last)
        for w in sorted(windows):
            while n < w:
                prev = next(history, None)
                if prev is None:
                    return best
                x_sum += prev[0]
                mu_sum += prev[1]
                n += 1
            if x_sum < min_count or x_sum - mu_sum < min_excess or x_sum < min_ratio * mu_sum:
                continue
            # The baseline's error is shared by neighbouring buckets, so a window is one NB draw of mean
            # mu_sum with the same relative noise: conservative, and what keeps long windows honest.
            s = tail_score(x_sum, mu_sum, self.dispersion)
            if best is None or s > best.score:
                best = Window(w, x_sum, mu_sum, s)
        return best

    # -- learning -----------------------------------------------------------------------------------
    def learn(self, observed: float, anomalous: bool) -> None:
        """Close the current bucket: remember a cleaned count, and the noise when the bucket was normal."""
        mu = self.mu
        var = self.variance(mu)
        sd = math.sqrt(var)
        k = 1.0 if anomalous else _CLIP_SD
        clean = min(max(observed, mu - k * sd), mu + k * sd) if self.closed else observed
        if not anomalous and self.closed:
            decay = 1 - 1 / self.cfg.dispersion_span_buckets
            err2 = min((observed - mu) ** 2, _CLIP_SD**2 * var)
            self.disp_num = self.disp_num * decay + (err2 - mu)
            self.disp_den = self.disp_den * decay + mu * mu
            self.disp_weight = self.disp_weight * decay + min(1.0, mu)  # near-empty buckets teach little
        self.recent.append((clean, self.shape if self.shape is not None else -1.0))
        self.last.append((observed, mu))
        self.slot_sum += clean
        self.slot_n += 1
        self.closed += 1

    @property
    def seasonal(self) -> bool:
        return self.shape is not None

    # -- state --------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "closed": self.closed,
            "slot_idx": self.slot_idx,
            "slots": [round(v, 4) for v in self.slots],
            "slot_sum": self.slot_sum,
            "slot_n": self.slot_n,
            "shape": self.shape,
            "recent": [[round(c, 4), round(s, 4)] for c, s in self.recent],
            "last": [[x, round(m, 4)] for x, m in self.last],
            "disp": [self.disp_num, self.disp_den, self.disp_weight],
            "mu": self.mu,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], config: DetectorConfig) -> Baseline:
        b = cls(config)
        b.closed = int(data["closed"])
        b.slot_idx = data["slot_idx"]
        b.slots.extend(float(v) for v in data["slots"])
        b.slot_sum, b.slot_n = float(data["slot_sum"]), int(data["slot_n"])
        b.shape = data["shape"]
        b.recent.extend((float(c), float(s)) for c, s in data["recent"])
        b.last.extend((float(x), float(m)) for x, m in data["last"])
        b.disp_num, b.disp_den, b.disp_weight = (float(v) for v in data["disp"])
        b.mu = float(data["mu"])
        return b
