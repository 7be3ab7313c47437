"""Bluesky source: Jetstream (WebSocket JSON of app.bsky.feed.post commits) and the searchPosts XRPC endpoint.

Jetstream's cursor is the `time_us` of the last event acknowledged; a reconnect or a restart asks for
the events after it, so a dropped connection loses nothing. Search walks `sort=latest` pages back to
the newest post already sent (`since`), then sends what it found oldest first.
Post ids are AT URIs (`at://did/app.bsky.feed.post/rkey`), the same in both feeds, so a post seen by
both is one mention.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

from listeners.sources.base import Backoff, Batch, Item, SourceOff, SourceState, idle, normalise, parse_retry_after
from listeners.sources.fetch import Fetcher, FetchError
from stream.schema import Mention, format_time, parse_time

PLATFORM = "bluesky"
COLLECTION = "app.bsky.feed.post"
log = logging.getLogger("listeners.bluesky")


def _mention(did: str, rkey: str, record: Any, handle: str = "", name: str = "") -> Mention:
    if not isinstance(record, dict):
        raise ValueError(f"expected a post record object, got {type(record).__name__}")
    langs = record.get("langs") or [""]
    return Mention(
        id=f"{PLATFORM}:at://{did}/{COLLECTION}/{rkey}",
        platform=PLATFORM,
        text=record["text"],
        created_at=format_time(parse_time(record["createdAt"])),
        author_handle=handle or did,
        author_name=name,
        url=f"https://bsky.app/profile/{handle or did}/post/{rkey}",
        lang=str(langs[0]),
        source=PLATFORM,
    )


def is_post_create(event: Any) -> bool:
    """Jetstream also sends identity/account events, updates and deletes: only new posts are mentions."""
    return (isinstance(event, dict) and event.get("kind") == "commit" and isinstance(event.get("commit"), dict)
            and event["commit"].get("operation") == "create" and event["commit"].get("collection") == COLLECTION)


def jetstream_to_mention(event: Any) -> Mention:
    commit = event["commit"]
    return _mention(event["did"], commit["rkey"], commit["record"])


def postview_to_mention(view: Any) -> Mention:
    """A searchPosts PostView (uri, author, record, indexedAt) as a Mention."""
    uri = str(view["uri"])
    did, collection, rkey = uri.removeprefix("at://").split("/", 2)
    if collection != COLLECTION:
        raise ValueError(f"not a post: {uri}")
    author = view["author"]
    return _mention(did, rkey, view["record"], str(author.get("handle") or ""), str(author.get("displayName") or ""))


Connect = Callable[[str], Any]  # url -> a connection with recv(timeout) and close()


class JetstreamSource:
    """The public firehose of posts, filtered to app.bsky.feed.post; the rules keep what names a brand."""

    name = PLATFORM
    CURSOR = "jetstream"

    def __init__(self, url: str, state: SourceState, sleep: Callable[[float], None], *,
                 connect: Connect | None = None, batch_size: int = 500, batch_seconds: float = 0.5,
                 max_events: int | None = None, backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not url:
            raise SourceOff("set LC_BLUESKY_JETSTREAM_URL (e.g. wss://jetstream2.us-east.bsky.network/subscribe)")
        self.url, self.state, self.sleep = url, state, sleep
        self.connect = connect or _ws_connect
        self.batch_size, self.batch_seconds, self.max_events = batch_size, batch_seconds, max_events
        self.backoff = backoff or Backoff(base=1.0, cap=60.0)
        self.clock = clock

    def _url(self, cursor: str | None) -> str:
        params = {"wantedCollections": COLLECTION}
        if cursor:
            params["cursor"] = str(int(cursor) + 1)  # after the last acknowledged event, not at it
        return f"{self.url}{'&' if '?' in self.url else '?'}{urlencode(params)}"

    def batches(self, cursors: dict[str, str]) -> Iterator[Batch]:
        cursor = cursors.get(self.CURSOR)
        seen = 0
        while self.max_events is None or seen < self.max_events:
            try:
                connection = self.connect(self._url(cursor))
            except Exception as exc:
                retry_after = _retry_after(exc)
                self.state.status, self.state.last_error = "backoff", f"connect: {type(exc).__name__}: {exc}"
                self.sleep(self.backoff.next_delay(retry_after))
                continue
            self.state.status = "running"
            try:
                for batch, last in self._read(connection):
                    seen += len(batch.items)
                    self.backoff.reset()
                    yield batch
                    if last is not None:
                        cursor = last  # the runner acknowledged the batch before asking for the next one
                    if self.max_events is not None and seen >= self.max_events:
                        return
            except Exception as exc:  # a dropped connection: reconnect after the last acknowledged event
                self.state.status, self.state.last_error = "backoff", f"stream: {type(exc).__name__}: {exc}"
                self.sleep(self.backoff.next_delay())
            finally:
                connection.close()

    def _read(self, connection: Any) -> Iterator[tuple[Batch, str | None]]:
        """Batches of up to `batch_size` events, or whatever came within `batch_seconds`."""
        items: list[Item] = []
        last: str | None = None
        started = self.clock()
        while True:
            try:
                raw = connection.recv(timeout=self.batch_seconds)
            except TimeoutError:
                raw = None
            if raw is not None:
                try:
                    event = json.loads(raw)
                except json.JSONDecodeError as exc:
                    items.append(Item.bad(raw, f"not JSON: {exc}"))
                    event = None
                if isinstance(event, dict) and isinstance(event.get("time_us"), int):
                    last = str(event["time_us"])
                if event is not None and is_post_create(event):
                    items.append(normalise(jetstream_to_mention, event))
            due = raw is None or len(items) >= self.batch_size or self.clock() - started >= self.batch_seconds
            if due:
                # With nothing new this is an empty batch: it lets the runner see its stop flag.
                yield Batch(items, {self.CURSOR: last} if last else {}), last
                items, last, started = [], None, self.clock()


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status_code", None) == 429:
        from datetime import UTC, datetime

        return parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
    return None


def _ws_connect(url: str) -> Any:
    from websockets.sync.client import connect

    # A short close timeout: closing with unread events queued cannot complete the handshake anyway.
    return connect(url, max_size=2**22, open_timeout=15, close_timeout=1)


class SearchSource:
    """searchPosts for each query, newest first, walked back to the last post sent."""

    name = PLATFORM

    def __init__(self, api_url: str, queries: list[str], fetcher: Fetcher, *, handle: str = "",
                 app_password: str = "", poll_seconds: float = 60.0, once: bool = False,
                 max_pages: int = 10) -> None:
        if not api_url or not queries:
            raise SourceOff("set LC_BLUESKY_API_URL and LC_BLUESKY_QUERIES (and LC_BLUESKY_HANDLE with "
                            "LC_BLUESKY_APP_PASSWORD where the AppView wants a session)")
        self.api_url, self.queries, self.fetcher = api_url.rstrip("/"), queries, fetcher
        self.handle, self.app_password = handle, app_password
        self.poll_seconds, self.once, self.max_pages = poll_seconds, once, max_pages
        self._headers: dict[str, str] | None = None

    def _auth(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = {}
            if self.handle and self.app_password:
                session = self.fetcher.request(
                    "POST", f"{self.api_url}/xrpc/com.atproto.server.createSession",
                    json={"identifier": self.handle, "password": self.app_password}).json()
                self._headers = {"Authorization": f"Bearer {session['accessJwt']}"}
        return self._headers

    def _search(self, query: str, cursors: dict[str, str]) -> Iterator[Batch]:
        key = f"search:{query}"
        since = cursors.get(key)
        found: list[tuple[str, Any]] = []
        page_cursor: str | None = None
        for _page in range(self.max_pages):
            params = {"q": query, "sort": "latest", "limit": "100"}
            if since:
                params["since"] = since
            if page_cursor:
                params["cursor"] = page_cursor
            answer = self.fetcher.get_json(f"{self.api_url}/xrpc/app.bsky.feed.searchPosts", params=params,
                                           headers=self._auth())
            posts = answer.get("posts") if isinstance(answer, dict) else None
            if not isinstance(posts, list):
                raise FetchError(f"searchPosts did not answer a post list: {answer!r:.200}")
            for view in posts:
                stamp = _stamp(view)
                if since and stamp and stamp < since:
                    continue
                found.append((stamp, view))
            page_cursor = answer.get("cursor")
            if not posts or not page_cursor or since is None:
                break  # the end, or a first run (starts from the newest page, without backfill)
            if any(_stamp(v) and _stamp(v) < since for v in posts):
                break  # reached what was sent before
        if not found:
            return
        found.sort(key=lambda pair: pair[0])
        newest = max(stamp for stamp, _ in found if stamp) if any(s for s, _ in found) else since or ""
        cursors[key] = newest
        yield Batch([normalise(postview_to_mention, v) for _, v in found], {key: newest},
                    quota_left=self.fetcher.state.quota_left)

    def batches(self, cursors: dict[str, str]) -> Iterator[Batch]:
        cursors = dict(cursors)
        while True:
            for query in self.queries:
                yield from self._search(query, cursors)
            if self.once:
                return
            yield from idle(self.poll_seconds, self.fetcher.sleep)


def _stamp(view: Any) -> str:
    """A PostView's creation time as a sortable UTC string; '' when it has none (it is dead-lettered)."""
    try:
        return format_time(parse_time(view["record"]["createdAt"]))
    except (KeyError, TypeError, ValueError):
        return ""
