"""Mastodon source: hashtag, account and search timelines of one instance's public REST API.

Paging is forward from the cursor with `min_id` (the page of statuses right after it, oldest first
once reversed): `since_id` would return the newest page and skip whatever lies between when more than
a page arrived since the last poll. Ids are compared as integers, as Mastodon documents them.
A status is identified by its `uri`, which is global: the same post seen through two instances (or
boosted) is one mention.

With `stream=True` the hashtags are also followed on the streaming API (WebSocket, `update` events
carrying a Status) between REST rounds; the REST round after a dropped stream pages from the newest id
seen, so what the stream missed is fetched, not lost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from listeners.sources.base import Batch, Item, SourceOff, idle, normalise
from listeners.sources.fetch import Fetcher, FetchError
from listeners.sources.text import html_to_text
from stream.schema import Mention

PLATFORM = "mastodon"
PAGE = 40  # the API's maximum for timelines


def status_to_mention(status: Any) -> Mention:
    """A Status entity (as documented at docs.joinmastodon.org/entities/Status) as a Mention."""
    if not isinstance(status, dict):
        raise ValueError(f"expected a Status object, got {type(status).__name__}")
    if status.get("reblog"):
        status = status["reblog"]  # a boost carries the original post
    account = status["account"]
    text = html_to_text(status["content"])
    if status.get("spoiler_text"):
        text = f"{status['spoiler_text']}\n{text}"
    acct = str(account["acct"])
    if "@" not in acct:  # a local account: make the handle global
        acct = f"{acct}@{urlsplit(str(account.get('url') or status['uri'])).hostname}"
    return Mention(
        id=f"{PLATFORM}:{status['uri']}",
        platform=PLATFORM,
        text=text,
        created_at=status["created_at"],
        author_handle=acct,
        author_name=str(account.get("display_name") or ""),
        author_followers=account.get("followers_count"),
        url=str(status.get("url") or status["uri"]),
        lang=str(status.get("language") or ""),
        source=PLATFORM,
    )


def newest_id(statuses: list[Any]) -> str | None:
    ids = [int(s["id"]) for s in statuses if isinstance(s, dict) and str(s.get("id", "")).isdigit()]
    return str(max(ids)) if ids else None


@dataclass(frozen=True)
class Feed:
    key: str  # the cursor key
    path: str
    params: dict[str, str]
    pick: Callable[[Any], Any]  # the status list out of the answer
    tag: str = ""  # for hashtag feeds: the streaming API can push them


def feeds_from(hashtags: list[str], accounts: list[str], queries: list[str], token: str) -> list[Feed]:
    feeds = [Feed(f"tag:{t.lstrip('#').lower()}", f"/api/v1/timelines/tag/{quote(t.lstrip('#'))}", {},
                  lambda d: d, t.lstrip("#").lower()) for t in hashtags]
    feeds += [Feed(f"account:{a}", f"/api/v1/accounts/{quote(a)}/statuses", {"exclude_reblogs": "false"},
                   lambda d: d) for a in accounts]
    if token:  # status search needs an authenticated user
        feeds += [Feed(f"search:{q}", "/api/v2/search", {"q": q, "type": "statuses", "resolve": "false"},
                       lambda d: d.get("statuses") if isinstance(d, dict) else d) for q in queries]
    return feeds


class MastodonSource:
    name = PLATFORM

    def __init__(self, base_url: str, feeds: list[Feed], fetcher: Fetcher, token: str = "", *,
                 poll_seconds: float = 60.0, once: bool = False, stream: bool = False,
                 connect: Callable[[str], Any] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if not base_url:
            raise SourceOff("set LC_MASTODON_URL (the instance, e.g. https://mastodon.social)")
        if not feeds:
            raise SourceOff("set LC_MASTODON_HASHTAGS, LC_MASTODON_ACCOUNTS, or LC_MASTODON_QUERIES with "
                            "LC_MASTODON_TOKEN")
        self.base_url, self.feeds, self.fetcher, self.poll_seconds, self.once = (
            base_url.rstrip("/"), feeds, fetcher, poll_seconds, once)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.token, self.clock = token, clock
        # Streaming pushes hashtag statuses as they arrive; REST catch-ups around it fill any gap.
        self.stream = stream and any(f.tag for f in feeds)
        self.connect = connect or _ws_connect

    def _catch_up(self, feed: Feed, cursors: dict[str, str]) -> Iterator[Batch]:
        cursor = cursors.get(feed.key)
        while True:
            params = {**feed.params, "limit": str(PAGE)}
            if cursor:
                params["min_id"] = cursor
            answer = self.fetcher.get_json(self.base_url + feed.path, params=params, headers=self.headers)
            statuses = feed.pick(answer)
            if not isinstance(statuses, list):
                raise FetchError(f"{feed.path} answered {type(statuses).__name__}, not a list of statuses")
            newest = newest_id(statuses)
            if newest is None:
                return
            items = [normalise(status_to_mention, s) for s in reversed(statuses)]
            cursor = cursors[feed.key] = newest
            yield Batch(items, {feed.key: newest}, quota_left=self.fetcher.state.quota_left)
            if len(statuses) < PAGE or "min_id" not in params:
                return  # caught up (a first run starts from the newest page, without backfill)

    def batches(self, cursors: dict[str, str]) -> Iterator[Batch]:
        cursors = dict(cursors)
        while True:
            for feed in self.feeds:
                yield from self._catch_up(feed, cursors)
            if self.once:
                return
            if self.stream:
                yield from self._follow_stream(cursors)
            else:
                yield from idle(self.poll_seconds, self.fetcher.sleep)

    def _stream_url(self) -> str:
        ws = "wss://" + self.base_url.removeprefix("https://") if self.base_url.startswith("https://") else (
            "ws://" + self.base_url.removeprefix("http://"))
        query = {"stream": "hashtag", "tag": next(f.tag for f in self.feeds if f.tag)}
        if self.token:
            query["access_token"] = self.token
        return f"{ws}/api/v1/streaming?{urlencode(query)}"

    def _follow_stream(self, cursors: dict[str, str]) -> Iterator[Batch]:
        """Streamed statuses for `poll_seconds`, then back to a REST round (accounts, searches, any gap)."""
        by_tag = {f.tag: f for f in self.feeds if f.tag}
        try:
            connection = self.connect(self._stream_url())
        except Exception as exc:
            self.fetcher.state.last_error = f"streaming: {type(exc).__name__}: {exc}"
            yield from idle(self.poll_seconds, self.fetcher.sleep)
            return
        try:
            for tag in list(by_tag)[1:]:  # the URL subscribed the first; the rest on the same socket
                connection.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": tag}))
            until = self.clock() + self.poll_seconds
            while self.clock() < until:
                try:
                    raw = connection.recv(timeout=1.0)
                except TimeoutError:
                    yield Batch([])  # lets the runner see its stop flag
                    continue
                batch = streamed_batch(raw, by_tag, cursors)
                if batch is not None:
                    yield batch
        except Exception as exc:  # a dropped stream: the REST round that follows fills the gap
            self.fetcher.state.last_error = f"streaming: {type(exc).__name__}: {exc}"
        finally:
            connection.close()


def streamed_batch(raw: Any, by_tag: dict[str, Feed], cursors: dict[str, str]) -> Batch | None:
    """A streaming `update` event as a one-status batch; its id advances the cursor of the tag it came on.

    Other events (delete, status.update, notifications) are not new posts. The cursor only moves forward:
    a status pushed out of order is sent, and the next REST round still pages from the newest id seen.
    """
    try:
        event = json.loads(raw)
    except (TypeError, json.JSONDecodeError) as exc:
        return Batch([Item.bad(raw, f"streaming event is not JSON: {exc}")])
    if not isinstance(event, dict) or event.get("event") != "update":
        return None
    stream = event.get("stream") or []
    feed = by_tag.get(str(stream[1]).lower()) if len(stream) > 1 else None
    try:
        status = json.loads(event["payload"])
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        return Batch([Item.bad(raw, f"streaming update without a status payload: {exc}")])
    item = normalise(status_to_mention, status)
    status_id = newest_id([status])
    if feed is None or status_id is None:
        return Batch([item])
    if feed.key in cursors and int(cursors[feed.key]) >= int(status_id):
        return Batch([item])
    cursors[feed.key] = status_id
    return Batch([item], {feed.key: status_id})


def _ws_connect(url: str) -> Any:
    from websockets.sync.client import connect

    return connect(url, open_timeout=15, close_timeout=1)

