"""`listening-center backtest FILE`: replay history through the spike detector, print what it would raise.

FILE is either
- mention JSON lines: `created_at`, `brand`, and a sentiment (`sentiment.label`, a `label`, a `compound`) or
  only `text`, which is then scored by the stream's Scorer (so negatives and categories are what the worker
  would see); ScoredMention lines (`{"mention": {...}, "sentiment": {...}, "categories": [...]}`) work too.
  Series: each brand, and each brand x category; buckets of 1 minute unless `--bucket` says otherwise;
- a CSV of `timestamp,value` counts of one series (header optional; ISO-8601 or epoch-second timestamps;
  a time without a zone is UTC); the bucket is the data's own spacing unless `--bucket` says otherwise.

Output: one JSON line per incident (what on-call would be paged for once), in order of start: `start`,
`end`, `brand`, `category`, `observed`, `expected`, `score`, `kind`, `dedupe_key`, `detected_at`, and
context. `--alerts` prints every alert message instead (open, update, resolved), as the worker sends them.
A summary goes to stderr unless `--json` asks for machine output only.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stream.schema import SpikeAlert
from stream.spikes import DetectorConfig, SpikeDetector


class InputError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Post:
    at: datetime
    brand: str
    categories: tuple[str, ...]
    negative: bool
    id: str
    text: str


def parse_timestamp(raw: str) -> datetime:
    raw = raw.strip()
    try:
        return datetime.fromtimestamp(float(raw), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"not a timestamp: {raw!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# -- CSV of counts ----------------------------------------------------------------------------------
def read_counts(lines: Iterable[str]) -> list[tuple[datetime, float]]:
    rows: list[tuple[datetime, float]] = []
    t_col, v_col = 0, 1
    for n, row in enumerate(csv.reader(lines)):
        if not row or not "".join(row).strip():
            continue
        if n == 0 and not rows:
            names = [c.strip().lower() for c in row]
            try:
                float(row[-1])
            except ValueError:  # a header: find the columns by name, else the first two
                t_col = next((i for i, c in enumerate(names) if c in {"timestamp", "time", "date", "ts"}), 0)
                v_col = next((i for i, c in enumerate(names) if c in {"value", "count", "counts", "n"}), 1)
                continue
        try:
            rows.append((parse_timestamp(row[t_col]), float(row[v_col])))
        except (IndexError, ValueError) as exc:
            raise InputError(f"line {n + 1}: expected timestamp,value: {exc}") from exc
    rows.sort(key=lambda r: r[0])
    return rows


def infer_bucket(times: list[datetime]) -> int:
    """The data's own spacing: the median gap between consecutive distinct timestamps."""
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times) if b > a]
    if not gaps:
        return 300
    return max(1, round(statistics.median(gaps)))


def replay_counts(rows: list[tuple[datetime, float]], brand: str, config: DetectorConfig,
                  emit: Callable[[SpikeAlert], None]) -> SpikeDetector:
    now = rows[0][0]
    det = SpikeDetector(config, clock=lambda: now)
    step = timedelta(seconds=config.bucket_seconds)
    key = (brand, None)
    for at, value in rows:
        for alert in det.tick(at):
            emit(alert)
        now = at
        det.observe_count(key, at, value)
    for alert in det.tick(rows[-1][0] + step):
        emit(alert)
    return det


# -- mention JSON lines -----------------------------------------------------------------------------
class _Judge:
    """Negativity (and categories) for lines that carry only text: the stream's own Scorer."""

    def __init__(self) -> None:
        self._score: Callable[[str], tuple[bool, list[str]]] | None = None

    def __call__(self, text: str) -> tuple[bool, list[str]]:
        if self._score is None:
            self._score = self._load()
        return self._score(text)

    @staticmethod
    def _load() -> Callable[[str], tuple[bool, list[str]]]:
        try:
            from stream.scoring import Scorer
        except ImportError:  # pragma: no cover - the scorer ships with the stream; VADER is the fallback
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            vader = SentimentIntensityAnalyzer()
            return lambda text: (vader.polarity_scores(text)["compound"] <= -0.05, [])
        scorer = Scorer()

        def judge(text: str) -> tuple[bool, list[str]]:
            j = scorer.score(text)
            return j.sentiment.label == "negative", list(j.categories)

        return judge


def _negativity(obj: dict[str, Any]) -> bool | None:
    sentiment = obj.get("sentiment")
    if isinstance(sentiment, dict):
        if isinstance(sentiment.get("label"), str):
            return bool(sentiment["label"] == "negative")
        if isinstance(sentiment.get("compound"), int | float):
            return float(sentiment["compound"]) <= -0.05
    if isinstance(sentiment, str):
        return sentiment == "negative"
    if isinstance(obj.get("label"), str):
        return bool(obj["label"] == "negative")
    for name in ("compound", "sentiment_compound"):
        if isinstance(obj.get(name), int | float) and not isinstance(obj.get(name), bool):
            return float(obj[name]) <= -0.05
    return None


def parse_post(obj: Any, judge: _Judge) -> Post:
    if not isinstance(obj, dict):
        raise InputError("expected a JSON object")
    nested = obj.get("mention")
    inner: dict[str, Any] = nested if isinstance(nested, dict) else obj
    created = inner.get("created_at") or obj.get("created_at")
    brand = inner.get("brand") or obj.get("brand")
    if not isinstance(created, str) or not isinstance(brand, str) or not brand:
        raise InputError("needs created_at and brand")
    text = inner.get("text") or obj.get("text") or ""
    negative = _negativity(obj)
    categories: Any = obj.get("categories")
    if negative is None:
        if not isinstance(text, str) or not text.strip():
            raise InputError("needs a sentiment (label or compound) or a text to score")
        negative, scored_categories = judge(text)
        if not isinstance(categories, list):
            categories = scored_categories
    if not isinstance(categories, list):
        categories = inner.get("topics") if isinstance(inner.get("topics"), list) else []
    return Post(
        at=parse_timestamp(created),
        brand=brand,
        categories=tuple(c for c in categories if isinstance(c, str) and c),
        negative=negative,
        id=str(inner.get("id") or obj.get("id") or ""),
        text=text if isinstance(text, str) else "",
    )


def read_posts(lines: Iterable[str], errors: list[str]) -> list[Post]:
    judge = _Judge()
    posts = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            posts.append(parse_post(json.loads(line), judge))
        except (json.JSONDecodeError, InputError) as exc:
            errors.append(f"line {n}: {exc}")
    posts.sort(key=lambda p: p.at)
    return posts


def replay_posts(posts: list[Post], config: DetectorConfig, emit: Callable[[SpikeAlert], None]) -> SpikeDetector:
    now = posts[0].at
    det = SpikeDetector(config, clock=lambda: now)
    for post in posts:
        for alert in det.tick(post.at):
            emit(alert)
        now = post.at
        text = post.text if post.negative else ""
        det.observe((post.brand, None), post.at, post.negative, post.id, text)
        for category in post.categories:
            det.observe((post.brand, category), post.at, post.negative, post.id, text)
    for alert in det.tick(posts[-1].at + timedelta(seconds=config.bucket_seconds)):
        emit(alert)
    return det


# -- incidents --------------------------------------------------------------------------------------
class Incidents:
    """Folds the alert messages of each incident (same dedupe key) into one line."""

    def __init__(self) -> None:
        self.by_key: dict[str, dict[str, Any]] = {}

    def add(self, alert: SpikeAlert) -> None:
        line = self.by_key.get(alert.dedupe_key)
        if line is None:
            self.by_key[alert.dedupe_key] = line = {
                "start": alert.window_start, "end": alert.window_end, "brand": alert.brand,
                "category": alert.category, "observed": alert.observed, "expected": alert.expected,
                "score": alert.score, "kind": alert.kind, "dedupe_key": alert.dedupe_key,
                "detected_at": alert.detected_at, "severity": alert.severity, "status": alert.status,
                "top_terms": alert.top_terms, "sample_ids": alert.sample_ids, "updates": 0,
            }
            return
        line["end"] = max(line["end"], alert.window_end)
        line["observed"], line["expected"] = alert.observed, alert.expected
        line["score"] = max(line["score"], alert.score)
        line["status"] = alert.status
        if alert.severity == "critical":
            line["severity"] = "critical"
        line["updates"] += alert.status == "update"

    def lines(self) -> list[dict[str, Any]]:
        return sorted(self.by_key.values(), key=lambda line: (line["start"], line["brand"], line["category"] or ""))


def _open(path: str) -> Iterator[str]:
    if path == "-":
        yield from sys.stdin
        return
    with Path(path).open(encoding="utf-8", newline="") as handle:
        yield from handle


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center backtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="mention JSON lines or a timestamp,value CSV ('-' for stdin)")
    parser.add_argument("--bucket", type=int, default=None, help="bucket size in seconds")
    parser.add_argument("--json", action="store_true", help="machine output only: no summary on stderr")
    parser.add_argument("--alerts", action="store_true", help="print every alert message, not one line per incident")
    parser.add_argument("--brand", default=None, help="series name for a CSV (default: the file's name)")
    args = parser.parse_args(argv)

    try:
        lines = list(_open(args.file))
    except OSError as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    first = next((line for line in lines if line.strip()), "")
    incidents = Incidents()
    alerts: list[SpikeAlert] = []

    def emit(alert: SpikeAlert) -> None:
        alerts.append(alert)
        incidents.add(alert)

    errors: list[str] = []
    t0 = time.perf_counter()
    try:
        if first.lstrip().startswith("{"):
            posts = read_posts(lines, errors)
            if not posts:
                raise InputError("no usable mention lines")
            config = DetectorConfig(bucket_seconds=args.bucket or 60)
            det = replay_posts(posts, config, emit)
            what = f"{len(posts)} mentions"
        else:
            rows = read_counts(lines)
            if not rows:
                raise InputError("no rows")
            bucket = args.bucket or infer_bucket([at for at, _ in rows])
            # Buckets start at the first row, so rows at :42:53 are buckets, not split across two.
            origin = rows[0][0].timestamp() % bucket
            config = replace(DetectorConfig(), bucket_seconds=bucket, origin_epoch=origin)
            brand = args.brand or (Path(args.file).stem if args.file != "-" else "series")
            det = replay_counts(rows, brand, config, emit)
            what = f"{len(rows)} rows"
    except InputError as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - t0

    out = sys.stdout
    if args.alerts:
        for alert in alerts:
            out.write(json.dumps(alert.to_dict(), ensure_ascii=False) + "\n")
    else:
        for line in incidents.lines():
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    out.flush()
    if not args.json:
        buckets = sum(s.spike.closed for s in det.series.values())
        print(f"backtest: {what}, {len(det.series)} series, {buckets} buckets of {config.bucket_seconds}s, "
              f"{len(incidents.by_key)} incidents ({len(alerts)} alert messages) in {elapsed:.2f}s"
              + (f"; {len(errors)} lines skipped" if errors else ""), file=sys.stderr)
        for err in errors[:10]:
            print(f"  skipped {err}", file=sys.stderr)
    return 0
