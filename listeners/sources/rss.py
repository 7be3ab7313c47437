"""RSS/Atom source (review sites, news, blogs): conditional GETs, parsed with feedparser.

Each feed keeps three cursors, stored together after Kafka acknowledged the entries: the ETag and
Last-Modified it answered (sent back as If-None-Match / If-Modified-Since, so an unchanged feed costs a
304), and the newest entry time sent. Entries at exactly that time are sent again and dropped by the
listener's id dedupe: better than missing one published in the same second. One broken feed does not
stop the others: its error is recorded in the state and the next feed is read.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser

from listeners.sources.base import Batch, Item, SourceOff, idle, normalise
from listeners.sources.fetch import Fetcher, FetchError
from listeners.sources.text import html_to_text
from stream.schema import Mention, format_time

PLATFORM = "rss"
log = logging.getLogger("listeners.rss")


def entry_time(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC) if parsed else None


def entry_to_mention(entry: Any, feed: Any) -> Mention:
    """A feedparser entry (RSS item or Atom entry) as a Mention; the feed gives author and language defaults."""
    native = entry.get("id") or entry.get("link")
    if not native:
        raise ValueError("entry has neither an id (guid) nor a link")
    when = entry_time(entry)
    if when is None:
        raise ValueError("entry has no published or updated date")
    title = html_to_text(entry.get("title", ""))
    summary = html_to_text(entry.get("summary", ""))
    return Mention(
        id=f"{PLATFORM}:{native}",
        platform=PLATFORM,
        text="\n".join(part for part in (title, summary) if part),
        created_at=format_time(when),
        author_handle=str(entry.get("author") or feed.get("title") or ""),
        author_name=str(entry.get("author") or ""),
        url=str(entry.get("link") or ""),
        lang=str(feed.get("language") or "")[:2].lower(),
        source=PLATFORM,
    )


class RssSource:
    name = PLATFORM

    def __init__(self, feeds: list[str], fetcher: Fetcher, *, poll_seconds: float = 300.0,
                 once: bool = False) -> None:
        if not feeds:
            raise SourceOff("set LC_RSS_FEEDS (comma-separated feed URLs)")
        self.feeds, self.fetcher, self.poll_seconds, self.once = feeds, fetcher, poll_seconds, once

    def _read(self, url: str, cursors: dict[str, str]) -> Iterator[Batch]:
        headers = {}
        if cursors.get(f"etag:{url}"):
            headers["If-None-Match"] = cursors[f"etag:{url}"]
        if cursors.get(f"modified:{url}"):
            headers["If-Modified-Since"] = cursors[f"modified:{url}"]
        response = self.fetcher.request("GET", url, headers=headers)
        if response.status_code == 304:
            return
        parsed = feedparser.parse(response.content)
        if parsed.bozo and not parsed.entries:
            raise FetchError(f"{url} is not a readable feed: {parsed.get('bozo_exception')}")
        seen = cursors.get(f"seen:{url}", "")
        fresh: list[tuple[str, Item]] = []
        for entry in parsed.entries:
            when = entry_time(entry)
            stamp = format_time(when) if when else ""
            if stamp and stamp < seen:
                continue  # sent on an earlier read
            fresh.append((stamp, normalise(lambda e: entry_to_mention(e, parsed.feed), dict(entry))))
        fresh.sort(key=lambda pair: pair[0])
        newest = max([seen, *(stamp for stamp, _ in fresh)])
        new_cursors = {f"seen:{url}": newest}
        if response.headers.get("etag"):
            new_cursors[f"etag:{url}"] = response.headers["etag"]
        if response.headers.get("last-modified"):
            new_cursors[f"modified:{url}"] = response.headers["last-modified"]
        cursors.update(new_cursors)
        yield Batch([item for _, item in fresh], new_cursors, quota_left=self.fetcher.state.quota_left)

    def batches(self, cursors: dict[str, str]) -> Iterator[Batch]:
        cursors = dict(cursors)
        while True:
            failures = []
            for url in self.feeds:
                try:
                    yield from self._read(url, cursors)
                except FetchError as exc:
                    failures.append(exc)
                    self.fetcher.state.last_error = str(exc)
                    log.warning("feed skipped this round: %s", exc)
            if self.once:
                if failures:
                    raise failures[0]
                return
            yield from idle(self.poll_seconds, self.fetcher.sleep)
