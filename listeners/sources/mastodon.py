"""Mastodon source: hashtag, account and search timelines of one instance's public REST API.

Paging is forward from the cursor with `min_id` (the page of statuses right after it, oldest first
once reversed): `since_id` would return the newest page and skip whatever lies between when more than
a page arrived since the last poll. Ids are compared as integers, as Mastodon documents them.
A status is identified by its `uri`, which is global: the same post seen through two instances (or
boosted) is one mention.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from listeners.sources.base import Batch, SourceOff, idle, normalise
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


def feeds_from(hashtags: list[str], accounts: list[str], queries: list[str], token: str) -> list[Feed]:
    feeds = [Feed(f"tag:{t.lstrip('#').lower()}", f"/api/v1/timelines/tag/{quote(t.lstrip('#'))}", {},
                  lambda d: d) for t in hashtags]
    feeds += [Feed(f"account:{a}", f"/api/v1/accounts/{quote(a)}/statuses", {"exclude_reblogs": "false"},
                   lambda d: d) for a in accounts]
    if token:  # status search needs an authenticated user
        feeds += [Feed(f"search:{q}", "/api/v2/search", {"q": q, "type": "statuses", "resolve": "false"},
                       lambda d: d.get("statuses") if isinstance(d, dict) else d) for q in queries]
    return feeds


class MastodonSource:
    name = PLATFORM

    def __init__(self, base_url: str, feeds: list[Feed], fetcher: Fetcher, token: str = "", *,
                 poll_seconds: float = 60.0, once: bool = False) -> None:
        if not base_url:
            raise SourceOff("set LC_MASTODON_URL (the instance, e.g. https://mastodon.social)")
        if not feeds:
            raise SourceOff("set LC_MASTODON_HASHTAGS, LC_MASTODON_ACCOUNTS, or LC_MASTODON_QUERIES with "
                            "LC_MASTODON_TOKEN")
        self.base_url, self.feeds, self.fetcher, self.poll_seconds, self.once = (
            base_url.rstrip("/"), feeds, fetcher, poll_seconds, once)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

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
            yield from idle(self.poll_seconds, self.fetcher.sleep)

