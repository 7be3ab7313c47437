"""The incident chart, pure: which time buckets to count, and the geometry of an SVG of counts against the
expected level. The template draws the shapes; nothing here touches Elasticsearch or Flask.

Buckets are as wide as the alert's own window and aligned to it, so the spike's bar counts exactly what
the detector saw (give or take late arrivals) and the bars before it show what "normal" looked like.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from stream.schema import SpikeAlert, format_time, parse_time

BEFORE = 12  # windows of history: enough to see the usual level, few enough for narrow bars to stay readable
AFTER = 3  # windows after the spike: did it keep going or settle?
WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 14, 34


@dataclass(frozen=True)
class Bucket:
    start: datetime
    end: datetime
    count: int | None = None  # None: not counted (in the future, or no data source)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    label: str  # the bucket's start, for the tooltip
    spike: bool


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    expected_y: float
    expected: float
    ticks: list[Tick]
    x_labels: list[XLabel]
    baseline_y: float
    plot_left: float
    plot_right: float
    summary: str  # the chart in words, for screen readers and for the title


def buckets_around(alert: SpikeAlert, now: datetime, before: int = BEFORE, after: int = AFTER) -> list[Bucket]:
    """Windows of the alert's width, aligned to its window, from `before` earlier to `after` later (never
    past `now`: a bucket that has not started yet is not drawn)."""
    start, end = parse_time(alert.window_start), parse_time(alert.window_end)
    width = end - start if end > start else timedelta(minutes=5)
    found = []
    for k in range(-before, after + 1):
        b_start = start + k * width
        if k > 0 and b_start >= now:
            break
        found.append(Bucket(b_start, b_start + width))
    return found


def _nice_max(value: float) -> float:
    """The smallest 1/2/5 x 10^n at or above `value`, so the axis labels are round numbers."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def build(buckets: list[Bucket], expected: float, spike_start: datetime, what: str = "Negative mentions") -> Chart:
    """Bars for the counted buckets, a horizontal line for the expected count per window, y ticks at
    0, half and the top, and a time label under every third bar."""
    counted = [b for b in buckets if b.count is not None]
    top = _nice_max(max([float(b.count or 0) for b in counted] + [expected, 1.0]) * 1.1)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    baseline = PAD_TOP + plot_h

    def y_of(value: float) -> float:
        return round(baseline - plot_h * value / top, 1)

    slot = plot_w / max(len(buckets), 1)
    bars: list[Bar] = []
    labels: list[XLabel] = []
    for i, b in enumerate(buckets):
        x = PAD_LEFT + i * slot
        if i % 3 == 0 or b.start == spike_start:
            labels.append(XLabel(round(x + slot / 2, 1), b.start.strftime("%H:%M")))
        if b.count is None:
            continue
        y = y_of(b.count)
        bars.append(Bar(round(x + slot * 0.1, 1), y, round(slot * 0.8, 1), round(baseline - y, 1), b.count,
                        format_time(b.start), b.start == spike_start))
    ticks = [Tick(y_of(v), _number(v)) for v in (0.0, top / 2, top)]
    spike = next((b for b in counted if b.start == spike_start), None)
    summary = (f"{what} per {_minutes(buckets)} minutes: "
               f"{spike.count if spike else 'unknown'} in the spike window against {_number(expected)} expected")
    return Chart(WIDTH, HEIGHT, bars, y_of(expected), expected, ticks, labels, baseline, PAD_LEFT,
                 WIDTH - PAD_RIGHT, summary)


def _minutes(buckets: list[Bucket]) -> str:
    if not buckets:
        return "?"
    return _number((buckets[0].end - buckets[0].start).total_seconds() / 60)
