"""Labelled synthetic count series, and how a detector's alerts score against their labels.

Made to resemble public social-post volume series rather than to suit the detector: a daily rhythm whose
shape varies day to day, quieter weekends, slow growth, gamma-Poisson noise (busy series are noisier
than Poisson), small unlabelled bumps (a post that got shared), and labelled bursts of many sizes, some
sharp, some climbing over half an hour. `python -m stream.spikes.synthetic` prints the table in
docs/spike-detection.md.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from stream.spikes.config import DetectorConfig
from stream.spikes.detector import SpikeDetector

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday


@dataclass(frozen=True)
class Burst:
    onset: int  # bucket index where the extra volume starts
    end: int  # last bucket with meaningful extra volume
    peak_ratio: float  # (normal + extra) / normal at the peak


@dataclass(frozen=True)
class Profile:
    name: str
    level: float  # mean posts per bucket on a weekday
    days: int = 28
    bucket_seconds: int = 300
    dispersion: float = 0.05  # gamma noise on the rate: var = mu + d mu^2
    daily_amplitude: float = 0.6  # trough is (1 - a) of the mean
    weekend: float = 0.7  # weekend volume relative to weekdays
    growth_per_week: float = 0.0  # 0.2 = +20% a week
    bursts: int = 8
    bumps_per_week: float = 4.0  # unlabelled small rises


@dataclass
class Series:
    profile: Profile
    start: datetime
    counts: list[int]
    bursts: list[Burst] = field(default_factory=list)


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:  # normal approximation; exact enough here and much faster
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def generate(profile: Profile, seed: int) -> Series:
    rng = random.Random(f"{profile.name}-{seed}")
    b = profile.bucket_seconds
    per_day = 86400 // b
    n = profile.days * per_day
    peak_hour = rng.uniform(13, 19)
    # Day-level variation: news days are busier, and the rhythm's shape shifts a little.
    day_level = [math.exp(rng.gauss(0, 0.12)) for _ in range(profile.days + 1)]
    day_shift = [rng.gauss(0, 0.5) for _ in range(profile.days + 1)]
    extra = [0.0] * n
    bursts: list[Burst] = []
    # Bursts after the first two days (everyone's warm-up), at least a day apart.
    slots = sorted(rng.sample(range(2, profile.days), min(profile.bursts, profile.days - 2)))
    for day in slots:
        onset = day * per_day + rng.randrange(per_day)
        peak_ratio = math.exp(rng.uniform(math.log(1.8), math.log(8.0)))
        rise = rng.choice([1, 1, 2, 3]) * max(1, 300 // b) if rng.random() < 0.6 else max(1, 1800 // b)
        decay = rng.uniform(1800, 4 * 3600) / b
        end = onset + rise + int(decay * math.log(10))
        bursts.append(Burst(onset, min(end, n - 1), peak_ratio))
        for i in range(onset, min(end + 1, n)):
            shape = (i - onset + 1) / rise if i < onset + rise else math.exp(-(i - onset - rise) / decay)
            extra[i] += (peak_ratio - 1) * shape
    bumps = int(profile.bumps_per_week * profile.days / 7)
    for _ in range(bumps):
        at = rng.randrange(n)
        height, length = rng.uniform(0.2, 0.5), rng.uniform(900, 3600) / b
        for i in range(at, min(n, at + int(length * 3))):
            extra[i] += height * math.exp(-(i - at) / length)
    counts = []
    for i in range(n):
        when = START + timedelta(seconds=i * b)
        day = i // per_day
        hour = when.hour + when.minute / 60 + day_shift[day]
        daily = 1 - profile.daily_amplitude * math.cos(2 * math.pi * (hour - peak_hour + 12) / 24)
        weekly = profile.weekend if when.weekday() >= 5 else 1.0
        growth = (1 + profile.growth_per_week) ** (i / (7 * per_day))
        mu = profile.level * daily * weekly * growth * day_level[day] * (1 + extra[i])
        if profile.dispersion > 0:
            shape = 1 / profile.dispersion
            mu = rng.gammavariate(shape, mu / shape)
        counts.append(poisson(rng, mu))
    return Series(profile, START, counts, bursts)


@dataclass
class Score:
    bursts: int = 0
    found: int = 0
    duplicates: int = 0  # further alerts inside a burst that already had one
    false_alarms: int = 0
    delays: list[float] = field(default_factory=list)  # minutes from onset to the alert
    weeks: float = 0.0
    seconds: float = 0.0
    buckets: int = 0

    def add(self, other: Score) -> None:
        self.bursts += other.bursts
        self.found += other.found
        self.duplicates += other.duplicates
        self.false_alarms += other.false_alarms
        self.delays += other.delays
        self.weeks += other.weeks
        self.seconds += other.seconds
        self.buckets += other.buckets

    @property
    def recall(self) -> float:
        return self.found / self.bursts if self.bursts else 1.0

    @property
    def precision(self) -> float:
        alerts = self.found + self.duplicates + self.false_alarms
        return self.found / alerts if alerts else 1.0

    def median_delay(self) -> float:
        d = sorted(self.delays)
        return d[len(d) // 2] if d else math.nan


def run_detector(series: Series, config: DetectorConfig | None = None) -> list[int]:
    """Bucket indexes at which an incident was opened (one per `open` alert), through the public API."""
    b = series.profile.bucket_seconds
    cfg = config or DetectorConfig(bucket_seconds=b, origin_epoch=series.start.timestamp())
    det = SpikeDetector(cfg, clock=lambda: series.start)
    key = ("synthetic", None)
    opened = []
    for i, count in enumerate(series.counts):
        at = series.start + timedelta(seconds=i * b)
        det.observe_count(key, at, count)
        for alert in det.tick(at + timedelta(seconds=b)):
            if alert.kind == "spike" and alert.status == "open":
                opened.append(i)
    return opened


def run_detector_mentions(series: Series, config: DetectorConfig | None = None, seed: int = 0) -> list[float]:
    """Like `run_detector`, but each bucket's count arrives as single mentions at random times within it, as
    the worker sees them, so the still-open bucket is tested too. Returns the (fractional) bucket positions
    at which incidents opened."""
    b = series.profile.bucket_seconds
    cfg = config or DetectorConfig(bucket_seconds=b, origin_epoch=series.start.timestamp())
    det = SpikeDetector(cfg, clock=lambda: series.start)
    rng = random.Random(seed)
    key = ("synthetic", None)
    opened = []
    for i, count in enumerate(series.counts):
        for offset in sorted(rng.uniform(0, b) for _ in range(count)):
            at = series.start + timedelta(seconds=i * b + offset)
            for alert in det.tick(at):
                if alert.kind == "spike" and alert.status == "open":
                    opened.append(i - 1 + offset / b)  # known at `at`: `evaluate` adds the one bucket back
            det.observe(key, at, True, "", "")
    return opened


def evaluate(series: Series, opened: Sequence[float], early: int = 2) -> Score:
    """Match alerts to labelled bursts: the first alert from `early` buckets before the onset to the burst's
    end finds it; later ones in the same burst are duplicates; alerts elsewhere are false alarms."""
    score = Score(bursts=len(series.bursts))
    hit: set[int] = set()
    minutes = series.profile.bucket_seconds / 60
    for at in opened:
        match = next((k for k, bu in enumerate(series.bursts) if bu.onset - early <= at <= bu.end), None)
        if match is None:
            score.false_alarms += 1
        elif match in hit:
            score.duplicates += 1
        else:
            hit.add(match)
            score.found += 1
            # The alert is raised when its bucket closes: that bucket's end is the delay's end.
            score.delays.append((at + 1 - series.bursts[match].onset) * minutes)
    score.weeks = len(series.counts) * series.profile.bucket_seconds / (7 * 86400)
    score.buckets = len(series.counts)
    return score


PROFILES: tuple[Profile, ...] = (
    Profile("quiet (~3 per 5 min)", level=3.0, dispersion=0.05),
    Profile("medium (~30 per 5 min)", level=30.0, dispersion=0.05),
    Profile("busy (~300 per 5 min)", level=300.0, dispersion=0.03),
    Profile("growing 25%/week (~20)", level=20.0, growth_per_week=0.25),
    Profile("noisy (~50, d=0.15)", level=50.0, dispersion=0.15),
    Profile("no weekly rhythm (~10)", level=10.0, weekend=1.0),
)


def benchmark(seeds: Sequence[int] = (1, 2, 3), profiles: Sequence[Profile] = PROFILES) -> list[tuple[str, Score]]:
    rows = []
    for profile in profiles:
        total = Score()
        for seed in seeds:
            series = generate(profile, seed)
            t0 = time.perf_counter()
            opened = run_detector(series)
            elapsed = time.perf_counter() - t0
            s = evaluate(series, opened)
            s.seconds = elapsed
            total.add(s)
        rows.append((profile.name, total))
    return rows


def main() -> int:
    rows = benchmark()
    out = sys.stdout
    out.write("| series | bursts | found | recall | duplicates | false alarms / week | precision "
              "| median delay (min) | seconds per 4 weeks |\n|---|---|---|---|---|---|---|---|---|\n")
    grand = Score()
    for name, s in rows:
        grand.add(s)
        runs = s.weeks / 4
        out.write(f"| {name} | {s.bursts} | {s.found} | {s.recall:.2f} | {s.duplicates} | "
                  f"{s.false_alarms / s.weeks:.2f} | {s.precision:.2f} | {s.median_delay():.0f} | "
                  f"{s.seconds / runs:.2f} |\n")
    out.write(f"| all | {grand.bursts} | {grand.found} | {grand.recall:.2f} | {grand.duplicates} | "
              f"{grand.false_alarms / grand.weeks:.2f} | {grand.precision:.2f} | {grand.median_delay():.0f} | "
              f"{grand.seconds / (grand.weeks / 4):.2f} |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
