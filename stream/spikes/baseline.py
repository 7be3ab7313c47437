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

from stream.spikes.calibration import Calibration
from stream.spikes.config import DetectorConfig
from stream.spikes.stats import score as tail_score

_MU_FLOOR = 1e-3
_CLIP_SD = 3.0
_RATIO_LIMITS = (0.25, 4.0)
_DISPERSION_MAX = 2.0
# The prior's weight in the units of the pooled sums (sum of mu^2): near-empty buckets carry almost no
# information about extra-Poisson noise, so a quiet series keeps the prior while a busy one overrides it
# within a few buckets.
_DISPERSION_PRIOR_WEIGHT = 50.0


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
        # Mean clean count per bucket of each past slot; slots[0] is absolute slot `slot_base`. A list, not a
        # deque: the seasonal lookups index into the middle, which a deque does in linear time.
        self.slots: list[float] = []
        self.slot_base = 0
        self.smooth: list[float] = []  # smooth[i]: mean of slots[i - w .. i + w]; ready once slot i + w is in
        self._keep_slots = config.history_days * self._spd
        self.slot_sum = 0.0
        self.slot_n = 0
        self.shape: float | None = None  # per-bucket seasonal shape of the current slot
        self.recent: deque[tuple[float, float]] = deque()  # (clean, shape or -1), the last level_len buckets
        self._sums = [0.0, 0.0, 0.0]  # clean over all recent; clean and shape over those with a shape
        self._since_resum = 0
        self.last: deque[tuple[float, float]] = deque(maxlen=max(config.windows))  # (observed, mu)
        # Per window length w: pooled sums for the dispersion of w-bucket totals. Learned per length because
        # how much errors of neighbouring buckets go together (a baseline off for an hour) is an empirical
        # matter: a window test assuming independence pages too often, one assuming lockstep finds too little.
        self.disp: dict[int, list[float]] = {w: [0.0, 0.0, 0.0] for w in sorted({1, *config.windows})}
        self.normal_run = 0  # buckets since the last anomalous one: windows only learn from normal stretches
        # Noise is learned with a delay: the first buckets of a rise look like noise until the incident opens,
        # and then they must not be learned (else the rise itself would teach the detector to ignore it).
        self.disp_pending: deque[list[tuple[int, float, float, float]]] = deque()
        self._disp_delay = max(config.windows)
        self.mu = 0.0  # prediction for the current bucket
        self.calibration = Calibration(config)

    # -- prediction ---------------------------------------------------------------------------------
    @property
    def dispersion(self) -> float:
        return self.window_dispersion(1)

    def window_dispersion(self, window: int) -> float:
        num, den, _ = self.disp[window]
        w0 = _DISPERSION_PRIOR_WEIGHT
        blended = (num + w0 * self.cfg.dispersion_start) / (max(den, 0.0) + w0)
        return min(_DISPERSION_MAX, max(self.cfg.dispersion_min, blended))

    def _slot_value(self, slot: int) -> float | None:
        pos = slot - self.slot_base
        if 0 <= pos < len(self.slots):
            return self.slots[pos]
        return None

    def _push_slot(self, value: float) -> None:
        self.slots.append(value)
        self._extend_smooth()
        if len(self.slots) > 2 * self._keep_slots:  # trim in halves: amortised O(1)
            cut = len(self.slots) - self._keep_slots
            del self.slots[:cut]
            del self.smooth[:cut]
            self.slot_base += cut

    def _extend_smooth(self) -> None:
        w = self.cfg.season_halfwidth
        while len(self.smooth) < len(self.slots) - w:
            c = len(self.smooth)
            window = self.slots[max(0, c - w): c + w + 1]
            self.smooth.append(sum(window) / len(window))

    def _smoothed(self, center: int) -> float | None:
        pos = center - self.slot_base
        if 0 <= pos < len(self.smooth):
            return self.smooth[pos]
        return None

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
        if self.slot_idx is None:
            self.slot_base = slot
        elif slot != self.slot_idx:
            self._push_slot(self.slot_sum / self.slot_n if self.slot_n else 0.0)
            # Slots skipped entirely (never with zero-filling, but a restored state might jump ahead).
            for _ in range(min(slot - self.slot_idx - 1, self._keep_slots)):
                self._push_slot(self.slots[-1])
            self.slot_base = slot - len(self.slots)
            self.slot_sum, self.slot_n = 0.0, 0
        if slot != self.slot_idx:
            self.slot_idx = slot
            self.shape = self._seasonal_shape(slot)

    def predict(self, bucket: int) -> float:
        """Expected count of `bucket` (the next bucket to close) from what was learned before it."""
        self._enter_slot(bucket // self._m)
        shape = self.shape
        all_clean, clean, expected = self._sums
        if shape is not None and expected > 0:
            prior = self.cfg.level_prior
            ratio = (clean + prior) / (expected + prior)
            ratio = min(_RATIO_LIMITS[1], max(_RATIO_LIMITS[0], ratio))
            mu = shape * ratio
        elif self.recent:
            mu = all_clean / len(self.recent)
        else:
            mu = 0.0
        self.mu = max(_MU_FLOOR, mu)
        return self.mu

    def variance(self, mu: float) -> float:
        return mu + self.dispersion * mu * mu

    # -- significance -------------------------------------------------------------------------------
    def scan(self, observed: float, windows: tuple[int, ...], min_count: float, min_excess: float,
             min_ratio: float, share: float = 1.0) -> Window | None:
        """The most significant trailing window (ending with `observed`) that passes every gate; `share` is
        how much of the current bucket `observed` covers (its expected level is pro-rated). Scores are
        calibrated to the series' own history (`calibration.py`)."""
        return self._scan(observed, windows, min_count, min_excess, min_ratio, share, self.calibration.factor())

    def _scan(self, observed: float, windows: tuple[int, ...], min_count: float, min_excess: float,
              min_ratio: float, share: float, factor: float) -> Window | None:
        best: Window | None = None
        x_sum, mu_sum, n = observed, self.mu * share, 1
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
            # A window's total is one NB draw of mean mu_sum, with the noise learned for that length.
            s = tail_score(x_sum, mu_sum, self.window_dispersion(w)) * factor
            if best is None or s > best.score:
                best = Window(w, x_sum, mu_sum, s)
        return best

    # -- learning -----------------------------------------------------------------------------------
    def learn(self, observed: float, anomalous: bool) -> None:
        """Close the current bucket: remember a cleaned count, and the noise when the bucket was normal."""
        mu = self.mu
        if self.closed:  # every bucket, gates off: how unusual this series' buckets usually are
            raw = self._scan(observed, self.cfg.windows, 0.0, 1e-9, 0.0, 1.0, 1.0)
            self.calibration.add(raw.score if raw is not None else 0.0)
        var = self.variance(mu)
        sd = math.sqrt(var)
        k = 1.0 if anomalous else _CLIP_SD
        clean = min(max(observed, mu - k * sd), mu + k * sd) if self.closed else observed
        self.last.append((observed, mu))
        self.normal_run = 0 if anomalous else self.normal_run + 1
        if anomalous:
            self.disp_pending.clear()
        elif self.closed:
            x_sum = mu_sum = 0.0
            n = 0
            contributions = []
            for x, m in reversed(self.last):
                x_sum += x
                mu_sum += m
                n += 1
                if n not in self.disp:
                    continue
                if n > self.normal_run or n > self.closed:
                    break
                w_var = mu_sum + self.window_dispersion(n) * mu_sum * mu_sum
                err2 = min((x_sum - mu_sum) ** 2, _CLIP_SD**2 * w_var)
                contributions.append((n, err2 - mu_sum, mu_sum * mu_sum, min(1.0, mu_sum)))
            self.disp_pending.append(contributions)
            while len(self.disp_pending) > self._disp_delay:
                self._commit_noise(self.disp_pending.popleft())
        self._remember(clean, self.shape if self.shape is not None else -1.0)
        self.slot_sum += clean
        self.slot_n += 1
        self.closed += 1

    def _commit_noise(self, contributions: list[tuple[int, float, float, float]]) -> None:
        decay = 1 - 1 / self.cfg.dispersion_span_buckets
        for n, num, den, weight in contributions:
            sums = self.disp[n]
            sums[0] = sums[0] * decay + num
            sums[1] = sums[1] * decay + den
            sums[2] = sums[2] * decay + weight

    def _remember(self, clean: float, shape: float) -> None:
        sums = self._sums
        self.recent.append((clean, shape))
        sums[0] += clean
        if shape >= 0:
            sums[1] += clean
            sums[2] += shape
        if len(self.recent) > self.level_len:
            old_clean, old_shape = self.recent.popleft()
            sums[0] -= old_clean
            if old_shape >= 0:
                sums[1] -= old_clean
                sums[2] -= old_shape
        self._since_resum += 1
        if self._since_resum >= 4096:  # running sums drift with float rounding: redo them now and then
            self._resum()

    def _resum(self) -> None:
        self._since_resum = 0
        self._sums = [
            sum(c for c, _ in self.recent),
            sum(c for c, s in self.recent if s >= 0),
            sum(s for _, s in self.recent if s >= 0),
        ]

    @property
    def seasonal(self) -> bool:
        return self.shape is not None

    # -- state --------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "closed": self.closed,
            "slot_idx": self.slot_idx,
            "slots": [round(v, 4) for v in self.slots[-self._keep_slots:]],
            "slot_sum": self.slot_sum,
            "slot_n": self.slot_n,
            "shape": self.shape,
            "recent": [[round(c, 4), round(s, 4)] for c, s in self.recent],
            "last": [[x, round(m, 4)] for x, m in self.last],
            "disp": {str(w): sums for w, sums in self.disp.items()},
            "normal_run": self.normal_run,
            "disp_pending": [[list(c) for c in cs] for cs in self.disp_pending],
            "mu": self.mu,
            "calibration": self.calibration.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], config: DetectorConfig) -> Baseline:
        b = cls(config)
        b.closed = int(data["closed"])
        b.slot_idx = data["slot_idx"]
        b.slots = [float(v) for v in data["slots"]]
        b.slot_base = (b.slot_idx or 0) - len(b.slots)
        b._extend_smooth()
        b.slot_sum, b.slot_n = float(data["slot_sum"]), int(data["slot_n"])
        b.shape = data["shape"]
        b.recent.extend((float(c), float(s)) for c, s in data["recent"][-b.level_len:])
        b._resum()
        b.last.extend((float(x), float(m)) for x, m in data["last"])
        for w, sums in data["disp"].items():
            if int(w) in b.disp:
                b.disp[int(w)] = [float(v) for v in sums]
        b.normal_run = int(data["normal_run"])
        b.disp_pending.extend([(int(n), float(u), float(d), float(w)) for n, u, d, w in cs]
                              for cs in data.get("disp_pending", []))
        b.mu = float(data["mu"])
        b.calibration = Calibration.from_dict(data.get("calibration", {}), config)
        return b
