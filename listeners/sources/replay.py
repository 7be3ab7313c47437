"""Replay source: JSON lines or CSV files of past mentions, at their original pace times `speed`, or at once.

Rows carry at least id, text and created_at (ISO-8601 with a zone); author/author_handle, author_name,
author_followers, url, lang, platform and brand are optional. The cursor is the last line sent for this
file, so a replay interrupted half way resumes on the next line instead of starting over.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from listeners.sources.base import Batch, Item, normalise
from listeners.sources.pacing import Clock, Sleep, pace
from stream.schema import Mention, SchemaError, parse_time

PLATFORM = "replay"


def row_to_mention(row: Any, source: str = PLATFORM) -> Mention:
    """A decoded row (JSON object or CSV record) as a Mention; raises on anything missing or malformed.

    Rows without a platform count as the `source`'s own posts; shared by the webhook.
    """
    if not isinstance(row, dict):
        raise SchemaError(f"expected a JSON object, got {type(row).__name__}")
    platform = str(row.get("platform") or source)
    native = row["id"]
    if native is None or str(native).strip() == "":
        raise SchemaError("field 'id': must not be empty")
    native = str(native)
    followers = row.get("author_followers")
    if isinstance(followers, str):
        followers = int(followers) if followers.strip() else None
    topics = row.get("topics") or []
    return Mention(
        id=native if native.startswith(f"{platform}:") else f"{platform}:{native}",
        platform=platform,
        text=row["text"],
        created_at=row["created_at"],
        author_handle=str(row.get("author_handle") or row.get("author") or ""),
        author_name=str(row.get("author_name") or ""),
        author_followers=followers,
        url=str(row.get("url") or ""),
        lang=str(row.get("lang") or ""),
        brand=str(row.get("brand") or ""),
        topics=topics.split("|") if isinstance(topics, str) else list(topics),
        source=source,
    )


def read_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, decoded row); a line that is not JSON comes back as its text, to be dead-lettered."""
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(handle)
            for number, row in enumerate(reader, start=2):  # line 1 is the header
                yield number, dict(row)
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError:
                yield number, line.rstrip("\n")


def _event_time(row: Any, previous: datetime) -> datetime:
    try:
        return parse_time(row["created_at"])
    except (KeyError, TypeError, AttributeError, SchemaError):
        return previous  # unreadable rows keep the pace and are dead-lettered when converted


class ReplaySource:
    name = PLATFORM

    def __init__(self, path: Path, speed: float | None, clock: Clock, sleep: Sleep, *,
                 progress: bool | None = None, batch_size: int = 500) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        self.path, self.speed, self.clock, self.sleep = path, speed, clock, sleep
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.batch_size = batch_size
        self.cursor_key = f"line:{path.resolve()}"

    def _timed(self, after: int) -> Iterator[tuple[datetime, tuple[int, Any]]]:
        previous = datetime.min.replace(tzinfo=UTC)
        for number, row in read_rows(self.path):
            if number <= after:
                continue
            previous = _event_time(row, previous)
            yield previous, (number, row)

    def batches(self, cursors: dict[str, str]) -> Iterator[Batch]:
        after = int(cursors.get(self.cursor_key, "0"))
        paced = pace(self._timed(after), self.clock, self.sleep, self.speed)
        size = 1 if self.speed else self.batch_size  # paced rows go out as they fall due
        bar = None
        if self.progress:
            total = sum(1 for _ in read_rows(self.path))
            bar = click.progressbar(length=total, label=f"replay {self.path.name}", file=sys.stderr,
                                    show_pos=True, show_eta=True)
            bar.update(min(after, total))
        items: list[Item] = []
        last = after
        try:
            for _when, (number, row) in paced:
                item = normalise(row_to_mention, row)
                if item.error:
                    item.error = f"line {number}: {item.error}"
                items.append(item)
                last = number
                if len(items) >= size:
                    yield Batch(items, {self.cursor_key: str(last)})
                    if bar is not None:
                        bar.update(len(items))
                    items = []
            if items:
                yield Batch(items, {self.cursor_key: str(last)})
        finally:
            if bar is not None:
                bar.render_finish()
