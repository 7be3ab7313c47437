"""The spike detector: counts per series and bucket in, alerts out, time only from the caller.

`observe` adds a mention to its bucket; `tick(now, lateness)` closes every bucket that ended by
`now - lateness` (empty ones count as zero) and runs each series' baseline, significance test and incident
state machine on it. Then it tests the still-open bucket of each series that got a negative mention since:
a count that is already significant against the *whole* bucket's expected level can only grow, so it
would fire at the close too, and waiting for the close (and the lateness allowance) only delays the page.
The same object runs inside the stream worker (state in a faust table via `to_dict`/`from_dict`) and in
`listening-center backtest`.

One incident, one alert: an incident opens when a trailing window is both significant and big enough
(count, excess and ratio gates), stays open while its last buckets stay above a lower bar (hysteresis),
resolves after a quiet spell, and a new rise within the cooldown reopens it under the same dedupe key.
A brand-wide series and its categories describe the same posts (and a post can carry several
categories), so while one series of a brand has an incident, the other series' rises are folded into it
instead of paging twice.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stream.schema import SpikeAlert
from stream.spikes.alerts import bucket_start, to_alert
from stream.spikes.baseline import Baseline
from stream.spikes.config import DetectorConfig
from stream.spikes.incident import COOLING, OPEN, Incident
from stream.spikes.stats import zero_run_score
from stream.spikes.terms import add_capped, count_terms, top_terms_from_counts

SeriesKey = tuple[str, str | None]
Clock = Callable[[], datetime]
_MAX_ITEMS_PER_BUCKET = 200
STATE_VERSION = 2  # 2: incidents carry early_* fields (opened on a still-open bucket); 1 loads as is


@dataclass
class Bucket:
    negative: float = 0.0
    total: float = 0.0
    items: list[tuple[str, str]] = field(default_factory=list)  # (mention id, text) of negative mentions


class Series:
    """Everything the detector keeps about one (brand, category) series."""

    def __init__(self, key: SeriesKey, config: DetectorConfig, first_bucket: int) -> None:
        self.key = key
        self.next_bucket = first_bucket
        self.pending: dict[int, Bucket] = {}
        self.spike = Baseline(config)
        # Silence is about the whole brand going quiet, so only brand-wide series watch it; on total volume
        # when mentions come one by one (`observe`), on the counts themselves when counts are given.
        self.volume: Baseline | None = None
        self.recent_items: deque[list[tuple[str, str]]] = deque(maxlen=max(config.windows))
        self.terms: dict[str, float] = {}
        self.incident: Incident | None = None
        self.silence: Incident | None = None
        self.zero_run = 0
        self.zero_expected = 0.0
        self.fresh = False  # a negative mention came since the open bucket was last tested (not saved)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": list(self.key),
            "next_bucket": self.next_bucket,
            "pending": {str(i): [b.negative, b.total, [list(it) for it in b.items]] for i, b in self.pending.items()},
            "spike": self.spike.to_dict(),
            "volume": self.volume.to_dict() if self.volume else None,
            "recent_items": [[list(it) for it in items] for items in self.recent_items],
            "terms": self.terms,
            "incident": self.incident.to_dict() if self.incident else None,
            "silence": self.silence.to_dict() if self.silence else None,
            "zero_run": self.zero_run,
            "zero_expected": self.zero_expected,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], config: DetectorConfig) -> Series:
        brand, category = data["key"]
        s = cls((brand, category), config, int(data["next_bucket"]))
        for idx, (neg, total, items) in data["pending"].items():
            s.pending[int(idx)] = Bucket(neg, total, [(i, t) for i, t in items])
        s.spike = Baseline.from_dict(data["spike"], config)
        s.volume = Baseline.from_dict(data["volume"], config) if data["volume"] else None
        s.recent_items.extend([(i, t) for i, t in items] for items in data["recent_items"])
        s.terms = {k: float(v) for k, v in data["terms"].items()}
        s.incident = Incident.from_dict(data["incident"]) if data["incident"] else None
        s.silence = Incident.from_dict(data["silence"]) if data["silence"] else None
        s.zero_run, s.zero_expected = int(data["zero_run"]), float(data["zero_expected"])
        return s


def _utc_now() -> datetime:
    return datetime.now(UTC)


_NO_LATENESS = timedelta(0)


def _specific_first(series: Iterable[Series]) -> list[Series]:
    # Categories first: when a brand and one of its categories rise together, the specific one names the
    # incident and the brand-wide one folds into it.
    return sorted(series, key=lambda s: (s.key[1] is None, s.key[0], s.key[1] or ""))


class SpikeDetector:
    def __init__(self, config: DetectorConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or DetectorConfig()
        self.clock = clock or _utc_now
        self.series: dict[SeriesKey, Series] = {}
        self.late = 0  # mentions that arrived after their bucket closed (counted in the next one)
        c = self.config
        self._warmup = max(c.warmup_buckets, c.minutes_to_buckets(c.warmup_minutes))
        self._resolve = c.minutes_to_buckets(c.resolve_minutes, least=2)
        self._cooldown = c.minutes_to_buckets(c.cooldown_minutes)
        self._max_open = c.minutes_to_buckets(c.max_open_hours * 60)
        self._update_every = c.minutes_to_buckets(c.update_every_minutes)
        self._silence = c.minutes_to_buckets(c.silence_minutes, least=2)
        self._keep_windows = tuple(w for w in c.windows if w <= 2) or (min(c.windows),)

    # -- input --------------------------------------------------------------------------------------
    def bucket_of(self, at: datetime) -> int:
        return math.floor((at.timestamp() - self.config.origin_epoch) / self.config.bucket_seconds)

    def _bucket(self, key: SeriesKey, at: datetime) -> Bucket:
        idx = self.bucket_of(at)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = Series(key, self.config, idx)
        if idx < series.next_bucket:  # late: its bucket is closed, so it counts now rather than never
            self.late += 1
            idx = series.next_bucket
        bucket = series.pending.get(idx)
        if bucket is None:
            bucket = series.pending[idx] = Bucket()
        return bucket

    def observe(self, series_key: tuple[str, str | None], at: datetime, negative: bool, mention_id: str,
                text: str) -> None:
        """One mention of a series; only negative ones count towards spikes, all towards volume."""
        bucket = self._bucket(series_key, at)
        series = self.series[series_key]
        if series.volume is None and series_key[1] is None:
            series.volume = Baseline(self.config)
        bucket.total += 1
        if negative:
            bucket.negative += 1
            series.fresh = True
            if len(bucket.items) < _MAX_ITEMS_PER_BUCKET:
                bucket.items.append((mention_id, text))

    def observe_count(self, series_key: tuple[str, str | None], at: datetime, count: float,
                      total: float | None = None) -> None:
        """A ready-made count (a CSV of counts): `count` towards spikes, `total` (default: the same) towards
        volume."""
        bucket = self._bucket(series_key, at)
        bucket.negative += count
        bucket.total += count if total is None else total

    # -- time ---------------------------------------------------------------------------------------
    def tick(self, now: datetime, lateness: timedelta = _NO_LATENESS) -> list[SpikeAlert]:
        """Close every bucket that ended by `now - lateness`, test the open buckets' counts so far (`observe`
        input only: a ready-made count is a whole bucket), and return the alerts that raised."""
        last = self.bucket_of(now - lateness) - 1
        alerts: list[SpikeAlert] = []
        if not self.series:
            return alerts
        first = min(s.next_bucket for s in self.series.values())
        if first <= last:
            ordered = _specific_first(self.series.values())
            for idx in range(first, last + 1):
                for series in ordered:
                    if series.next_bucket <= idx:
                        self._close(series, idx, now, alerts)
        fresh = [s for s in self.series.values() if s.fresh]
        for series in _specific_first(fresh):
            series.fresh = False
            self._early(series, now, alerts)
        return alerts

    def _early(self, series: Series, now: datetime, alerts: list[SpikeAlert]) -> None:
        """Open an incident on the open bucket's count so far, when that already passes every gate.

        Every gate (score, count, excess, ratio) only grows with the count, and the bucket's expected level
        and noise are what its close will use, so this fires only where the close would: earlier, never
        more often. Only new incidents start early; updates and reopenings wait for the close.
        """
        idx = series.next_bucket
        bucket = series.pending.get(idx)
        base = series.spike
        if bucket is None or base.closed < self._warmup or self._active(series.incident, idx):
            return
        c = self.config
        mu = base.predict(idx)  # the same number the close will compute: nothing is learned in between
        x = bucket.negative
        trigger = base.scan(x, c.windows, c.min_count, c.min_excess, c.min_ratio)
        if trigger is None or trigger.score < c.threshold:
            share = (now - bucket_start(c, idx)).total_seconds() / c.bucket_seconds
            if not c.early_share <= share < 1.0:
                return
            trigger = base.scan(x, c.windows, c.min_count, c.min_excess, c.min_ratio, share)
            if trigger is None or trigger.score < c.threshold + c.early_extra_threshold:
                return
        if self._related_active(series, idx):
            return
        inc = series.incident = self._open(series, idx, bucket.negative, mu, trigger.buckets, trigger.score, bucket)
        inc.early_bucket, inc.early_observed, inc.early_items = idx, bucket.negative, len(bucket.items)
        alerts.append(self._alert(series, inc, "open", now))

    def _close(self, series: Series, idx: int, now: datetime, alerts: list[SpikeAlert]) -> None:
        c = self.config
        bucket = series.pending.pop(idx, None) or Bucket()
        series.next_bucket = idx + 1
        anomalous = self._spike_step(series, idx, bucket, now, alerts)
        if series.key[1] is None:
            self._silence_step(series, idx, bucket, now, alerts)
        anomalous = anomalous or (series.silence is not None and series.silence.state == OPEN)
        series.spike.learn(bucket.negative, anomalous)
        if not anomalous and bucket.items:
            add_capped(series.terms, count_terms(t for _, t in bucket.items), c.baseline_terms_cap)
        series.recent_items.append(bucket.items)

    def _active(self, incident: Incident | None, idx: int) -> bool:
        if incident is None:
            return False
        return incident.state == OPEN or (
            incident.resolved_at is not None and idx - incident.resolved_at <= self._cooldown
        )

    def _related_active(self, series: Series, idx: int) -> bool:
        brand = series.key[0]
        for other in self.series.values():
            if other is series or other.key[0] != brand:
                continue
            # A mention can carry several categories, so one brand's rise shows in several series at once:
            # one incident per brand at a time is what keeps it to one page.
            if self._active(other.incident, idx):
                return True
        return False

    def _spike_step(self, series: Series, idx: int, bucket: Bucket, now: datetime,
                    alerts: list[SpikeAlert]) -> bool:
        """Run the spike test on a closing bucket; True when the bucket is part of an incident."""
        c = self.config
        base = series.spike
        x = bucket.negative
        mu = base.predict(idx)
        warm = base.closed >= self._warmup
        trigger = base.scan(x, c.windows, c.min_count, c.min_excess, c.min_ratio) if warm else None
        triggered = trigger is not None and trigger.score >= c.threshold
        inc = series.incident
        if inc is not None and inc.state == COOLING and not self._active(inc, idx):
            inc = series.incident = None
        if inc is not None and inc.early_bucket == idx:  # opened on this bucket's count so far
            inc.settle_early(x, trigger.score if triggered and trigger else 0.0, bucket.items, c.max_spike_texts,
                             c.sample_ids)
            return True
        if inc is not None and inc.state == OPEN:
            keep = base.scan(x, self._keep_windows, 1, 0.0, c.keep_ratio)
            elevated = triggered or (keep is not None and keep.score >= c.keep_threshold)
            inc.extend(idx, x, mu, trigger.score if triggered and trigger else (keep.score if keep else 0.0),
                       elevated)
            if elevated:
                inc.add_context(bucket.items, c.max_spike_texts, c.sample_ids)
            if inc.quiet >= self._resolve or idx - inc.start >= self._max_open:
                inc.resolve(idx)
                alerts.append(self._alert(series, inc, "resolved", now))
            elif elevated and idx - inc.last_update >= self._update_every and inc.observed >= 1.5 * max(
                inc.reported_observed, 1.0
            ):
                alerts.append(self._alert(series, inc, "update", now))
            return elevated
        if not triggered or trigger is None:
            return False
        if inc is not None:  # cooling: the same incident flares again
            inc.reopen(idx)
            inc.extend(idx, x, mu, trigger.score, True)
            inc.add_context(bucket.items, c.max_spike_texts, c.sample_ids)
            alerts.append(self._alert(series, inc, "update", now))
            return True
        if self._related_active(series, idx):
            return True  # folded into the brand's (or category's) incident: no second page
        series.incident = inc = self._open(series, idx, x, mu, trigger.buckets, trigger.score, bucket)
        alerts.append(self._alert(series, inc, "open", now))
        return True

    def _open(self, series: Series, idx: int, x: float, mu: float, window: int, score: float,
              bucket: Bucket) -> Incident:
        """A new incident over the firing window, trimmed of leading buckets that were not above normal."""
        past = list(series.spike.last)[-(window - 1):] if window > 1 else []
        span = [*past, (x, mu)]
        items = [*list(series.recent_items)[-(window - 1):], bucket.items] if window > 1 else [bucket.items]
        while len(span) > 1 and span[0][0] <= span[0][1]:
            span.pop(0)
            items.pop(0)
        inc = Incident(
            kind="spike", brand=series.key[0], category=series.key[1], start=idx - len(span) + 1, end=idx,
            detected=idx, observed=sum(o for o, _ in span), expected=sum(e for _, e in span), score=score,
        )
        for chunk in items:
            inc.add_context(chunk, self.config.max_spike_texts, self.config.sample_ids)
        return inc

    def _silence_step(self, series: Series, idx: int, bucket: Bucket, now: datetime,
                      alerts: list[SpikeAlert]) -> None:
        c = self.config
        vol = series.volume
        shared = vol is None
        if vol is None:  # counts mode: the spike baseline already predicted this bucket and learns it later
            vol = series.spike
            mu = vol.mu
        else:
            mu = vol.predict(idx)
        if bucket.total > 0:
            series.zero_run, series.zero_expected = 0, 0.0
        else:
            series.zero_run += 1
            series.zero_expected += mu
        sil = series.silence
        if sil is not None and sil.state == COOLING and not self._active(sil, idx):
            sil = series.silence = None
        if sil is not None and sil.state == OPEN:
            if bucket.total > 0:
                sil.resolve(idx)
                alerts.append(self._alert(series, sil, "resolved", now))
            else:
                sil.extend(idx, 0.0, mu, zero_run_score(series.zero_expected, vol.dispersion), True)
        elif (
            sil is None
            and vol.closed >= self._warmup
            and series.zero_run >= self._silence
            and series.zero_expected >= c.silence_min_expected
        ):
            s = zero_run_score(series.zero_expected, vol.dispersion)
            if s >= c.silence_threshold:
                series.silence = sil = Incident(
                    kind="silence", brand=series.key[0], category=None, start=idx - series.zero_run + 1,
                    end=idx, detected=idx, observed=0.0, expected=series.zero_expected, score=s,
                )
                alerts.append(self._alert(series, sil, "open", now))
        if not shared:
            vol.learn(bucket.total, sil is not None and sil.state == OPEN)

    def _alert(self, series: Series, inc: Incident, status: str, now: datetime) -> SpikeAlert:
        inc.last_update = inc.end if status == "open" else max(inc.last_update, inc.end)
        inc.reported_observed = inc.observed
        terms: list[str] = []
        if inc.kind == "spike" and inc.texts:
            terms = top_terms_from_counts(count_terms(inc.texts), series.terms, self.config.top_terms)
        # In a replay `now` may run ahead of the bucket; the bucket's end is when it could first be known.
        detected_at = min(now, bucket_start(self.config, inc.end + 1)) if status == "open" else now
        return to_alert(inc, status, self.config, detected_at, terms)

    # -- state --------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "config": self.config.to_dict(),
            "late": self.late,
            "series": [s.to_dict() for s in self.series.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], clock: Clock | None = None) -> SpikeDetector:
        if int(data.get("v", 1)) > STATE_VERSION:
            raise ValueError(f"spike state version {data.get('v')} is newer than this code ({STATE_VERSION})")
        det = cls(DetectorConfig.from_dict(data["config"]), clock=clock)
        det.late = int(data.get("late", 0))
        for raw in data["series"]:
            s = Series.from_dict(raw, det.config)
            det.series[s.key] = s
        return det
