"""Chart geometry for server-rendered SVG: plain numbers in, shapes with their drill-down links out.

No drawing library: the marketing page needs lines, stacked bars and columns, and computing their
coordinates here keeps the template a dumb loop (Jinja escapes every label and link) and the maths
testable without a browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

PALETTE = ("#304ffe", "#00a3bf", "#e8590c", "#9c36b5", "#2b8a3e", "#c2255c", "#5c940d", "#1864ab")
SENTIMENT_COLORS = {"negative": "#d92d20", "neutral": "#98a2b3", "positive": "#12b76a"}


@dataclass(frozen=True)
class Mark:
    """One clickable element: a point (circle) or a bar segment (rect)."""

    x: float
    y: float
    w: float
    h: float
    color: str
    href: str
    title: str


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass
class Chart:
    width: int
    height: int
    lines: list[tuple[str, str, str]] = field(default_factory=list)  # (label, color, "x,y x,y ...")
    marks: list[Mark] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (label, color)
    plot: tuple[float, float, float, float] = (0, 0, 0, 0)  # left, top, right, bottom


@dataclass(frozen=True)
class Value:
    """A number on a chart with what it means and where clicking it leads."""

    value: float
    href: str
    title: str


LEFT, RIGHT, TOP, BOTTOM = 44.0, 12.0, 10.0, 26.0


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10.0 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if value <= step * factor:
            return step * factor
    return value


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) >= 1 or value == 0 else f"{value:.1f}"


def _x_labels(starts: Sequence[datetime], interval: str) -> list[str]:
    style = {"hour": "%d %H:00", "day": "%b %d", "week": "%b %d", "month": "%Y-%m"}[interval]
    return [s.strftime(style) for s in starts]


def line_chart(starts: Sequence[datetime], interval: str, series: Sequence[tuple[str, Sequence[Value]]],
               width: int = 560, height: int = 220, y_range: tuple[float, float] | None = None) -> Chart:
    """One line per series over shared time buckets; every point links to the mentions it counts."""
    chart = Chart(width, height)
    left, top, right, bottom = LEFT, TOP, width - RIGHT, height - BOTTOM
    chart.plot = (left, top, right, bottom)
    values = [v.value for _, vs in series for v in vs]
    low, high = y_range or (min(0.0, *values) if values else 0.0, _nice_max(max(values, default=0.0)))
    n = len(starts)

    def x(i: int) -> float:
        return left + (right - left) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return bottom - (bottom - top) * ((v - low) / (high - low) if high > low else 0)

    for k, (label, vs) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        chart.legend.append((label, color))
        chart.lines.append((label, color, " ".join(f"{x(i):.1f},{y(v.value):.1f}" for i, v in enumerate(vs))))
        radius = 4.5 if n <= 40 else 2.5  # dense series: smaller dots, still clickable
        chart.marks += [Mark(x(i), y(v.value), radius, radius, color, v.href, v.title) for i, v in enumerate(vs)]
    labels = _x_labels(starts, interval)
    every = max(1, n // 6)
    chart.x_ticks = [Tick(x(i), labels[i]) for i in range(0, n, every)]
    chart.y_ticks = [Tick(y(low + (high - low) * f), _fmt(low + (high - low) * f)) for f in (0, 0.5, 1)]
    return chart


def stacked_bars(rows: Sequence[tuple[str, Sequence[tuple[str, Value]]]], width: int = 560, bar: int = 22,
                 colors: dict[str, str] | None = None) -> Chart:
    """Horizontal bars, one per row, each split into its segments' shares of the row (100% wide)."""
    label_width = 130.0
    chart = Chart(width, int(TOP + len(rows) * (bar + 10) + 4))
    span = width - label_width - RIGHT
    seen: dict[str, str] = {}
    for r, (label, segments) in enumerate(rows):
        y = TOP + r * (bar + 10)
        chart.y_ticks.append(Tick(y + bar / 2, label))
        total = sum(v.value for _, v in segments)
        x = label_width
        for name, v in segments:
            color = (colors or {}).get(name) or seen.get(name) or PALETTE[len(seen) % len(PALETTE)]
            seen.setdefault(name, color)
            w = span * v.value / total if total else 0.0
            if w > 0:
                chart.marks.append(Mark(x, y, w, bar, color, v.href, v.title))
            x += w
    chart.legend = list(seen.items())
    chart.plot = (label_width, TOP, width - RIGHT, chart.height)
    return chart


def stacked_columns(starts: Sequence[datetime], interval: str,
                    stacks: Sequence[Sequence[tuple[str, Value]]], width: int = 560, height: int = 220) -> Chart:
    """One column per time bucket, stacked by segment (categories), absolute counts."""
    chart = Chart(width, height)
    left, top, right, bottom = LEFT, TOP, width - RIGHT, height - BOTTOM
    chart.plot = (left, top, right, bottom)
    high = _nice_max(max((sum(v.value for _, v in s) for s in stacks), default=0.0))
    n = max(1, len(starts))
    slot = (right - left) / n
    seen: dict[str, str] = {}
    for i, stack in enumerate(stacks):
        base = bottom
        for name, v in stack:
            color = seen.setdefault(name, PALETTE[len(seen) % len(PALETTE)])
            h = (bottom - top) * v.value / high
            if h > 0:
                chart.marks.append(Mark(left + i * slot + slot * 0.15, base - h, slot * 0.7, h, color, v.href,
                                        v.title))
            base -= h
    labels = _x_labels(starts, interval)
    every = max(1, n // 6)
    chart.x_ticks = [Tick(left + i * slot + slot / 2, labels[i]) for i in range(0, len(starts), every)]
    chart.y_ticks = [Tick(bottom - (bottom - top) * f, _fmt(high * f)) for f in (0, 0.5, 1)]
    chart.legend = list(seen.items())
    return chart
