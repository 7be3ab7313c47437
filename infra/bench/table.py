"""The summary table printed at the end of a run, and its JSON twin. Pure: data in, text out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from infra.bench.stats import Comparison, Summary

HEADERS = ("stage", "measured", "count", "mentions/s", "p50 ms", "p95 ms", "p99 ms", "vs reference")
RIGHT = {"count", "mentions/s", "p50 ms", "p95 ms", "p99 ms"}


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1000
    return f"{ms:.3f}" if ms < 1 else f"{ms:,.1f}" if ms < 100 else f"{ms:,.0f}"


def fmt_ratio(comparison: Comparison) -> str:
    parts = []
    if comparison.rate_ratio is not None:
        parts.append(f"{comparison.rate_ratio:.0%} of rate")
    if comparison.p99_ratio is not None:
        parts.append(f"p99 x{comparison.p99_ratio:.1f}")
    return ", ".join(parts)


def _row(stage: str, s: Summary, versus: str) -> list[str]:
    name = f"{s.name} ({s.note})" if s.note else s.name
    return [stage, name, f"{s.count:,}", fmt_rate(s.rate), fmt_ms(s.p50), fmt_ms(s.p95), fmt_ms(s.p99), versus]


def rows(comparisons: Sequence[Comparison]) -> list[list[str]]:
    """Each product line, then its reference line indented under it (`ref:`), so they read as a pair."""
    out: list[list[str]] = []
    for c in comparisons:
        out.append(_row(c.stage, c.product, fmt_ratio(c)))
        if c.reference is not None:
            out.append(_row("", Summary(f"  ref: {c.reference.name}", c.reference.count, c.reference.rate,
                                        c.reference.p50, c.reference.p95, c.reference.p99, c.reference.note), ""))
    return out


def render(headers: Sequence[str], body: Sequence[Sequence[str]], right: set[str] | None = None) -> str:
    """A plain-text table (Markdown-compatible pipes), columns padded to their widest cell."""
    right = RIGHT if right is None else right
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [c.rjust(w) if h in right else c.ljust(w) for c, w, h in zip(cells, widths, headers, strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if h in right else ("-" * (w + 2))
                          for w, h in zip(widths, headers, strict=True)) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in body)])


def summary_table(comparisons: Sequence[Comparison]) -> str:
    return render(HEADERS, rows(comparisons))


def memory_table(peaks_kib: Mapping[str, int]) -> str:
    """Peak resident memory per process (engines with their child processes), and the total."""
    body = [[name, f"{kib / 1024:,.0f}"] for name, kib in peaks_kib.items()]
    body.append(["total", f"{sum(peaks_kib.values()) / 1024:,.0f}"])
    return render(("process", "peak RSS MiB"), body, right={"peak RSS MiB"})


def to_json(comparisons: Sequence[Comparison]) -> list[dict[str, Any]]:
    return [
        {"stage": c.stage, "product": asdict(c.product),
         "reference": asdict(c.reference) if c.reference else None,
         "rate_ratio": c.rate_ratio, "p99_ratio": c.p99_ratio}
        for c in comparisons
    ]
