"""Reddit source: JSON listings of subreddits' new posts and comments, and search, over OAuth.

Application-only OAuth (client credentials) as Reddit requires for API clients. Listings are paged
forward with `before=<fullname>`: the page of things right after the newest one already sent. Reddit's
rate-limit headers (X-Ratelimit-Remaining / -Reset) are honoured by the fetcher.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from listeners.sources.base import Batch, SourceOff, idle, normalise
from listeners.sources.fetch import Fetcher, FetchError
from stream.schema import Mention, format_time

PLATFORM = "reddit"
PAGE = 100  # the API's maximum


def thing_to_mention(thing: Any) -> Mention:
    """A listing child (t3 link post or t1 comment) as a Mention."""
    if not isinstance(thing, dict):
        raise ValueError(f"expected a listing child object, got {type(thing).__name__}")
    kind, data = thing["kind"], thing["data"]
    if kind == "t3":
        text = str(data["title"])
        if data.get("selftext"):
            text = f"{text}\n\n{data['selftext']}"
    elif kind == "t1":
        text = str(data["body"])
    else:
        raise ValueError(f"unexpected thing kind {kind!r}")
    created = datetime.fromtimestamp(float(data["created_utc"]), tz=UTC)
    return Mention(
        id=f"{PLATFORM}:{data['name']}",
        platform=PLATFORM,
        text=text,
        created_at=format_time(created),
        author_handle=str(data["author"]),
        url=f"https://www.reddit.com{data['permalink']}" if data.get("permalink") else "",
        source=PLATFORM,
    )


@dataclass(frozen=True)
class Listing:
    key: str  # cursor key
    path: str
    params: dict[str, str]


def listings_from(subreddits: list[str], queries: list[str]) -> list[Listing]:
    out: list[Listing] = []
    for sub in subreddits:
        name = sub.removeprefix("r/")
        out.append(Listing(f"new:{name}", f"/r/{quote(name)}/new", {}))
        out.append(Listing(f"comments:{name}", f"/r/{quote(name)}/comments", {}))
    out += [Listing(f"search:{q}", "/search", {"q": q, "sort": "new", "type": "link"}) for q in queries]
    return out


class RedditSource:
    name = PLATFORM

    def __init__(self, api_url: str, token_url: str, client_id: str, client_secret: str,
                 listings: list[Listing], fetcher: Fetcher, *, poll_seconds: float = 60.0,
                 once: bool = False) -> None:
        if not (client_id and client_secret):
            raise SourceOff("set LC_REDDIT_CLIENT_ID and LC_REDDIT_CLIENT_SECRET (a Reddit 'script' or web app)")
        if not listings:
            raise SourceOff("set LC_REDDIT_SUBREDDITS or LC_REDDIT_QUERIES")
        self.api_url, self.token_url = api_url.rstrip("/"), token_url
        self.client_id, self.client_secret = client_id, client_secret
        self.listings, self.fetcher, self.poll_seconds, self.once = listings, fetcher, poll_seconds, once
        self._token: str | None = None
        self._token_expires = datetime.min.replace(tzinfo=UTC)

    def _auth(self) -> dict[str, str]:
        now = self.fetcher.now()
        if self._token is None or now >= self._token_expires:
            answer = self.fetcher.request("POST", self.token_url, data={"grant_type": "client_credentials"},
                                          auth=(self.client_id, self.client_secret)).json()
            if not isinstance(answer, dict) or "access_token" not in answer:
                raise FetchError(f"no access token from {self.token_url}: {answer!r:.200}")
            self._token = str(answer["access_token"])
            # Renew a minute early so a token never expires between the check and the call.
            expires_in = float(answer.get("expires_in", 3600))
            self._token_expires = datetime.fromtimestamp(now.timestamp() + expires_in - 60, tz=UTC)
        return {"Authorization": f"bearer {self._token}"}

    def _catch_up(self, listing: Listing, cursors: dict[str, str]) -> Iterator[Batch]:
        before = cursors.get(listing.key)
        while True:
            params = {**listing.params, "limit": str(PAGE), "raw_json": "1"}
            if before:
                params["before"] = before
            answer = self.fetcher.get_json(self.api_url + listing.path, params=params, headers=self._auth())
            try:
                children = answer["data"]["children"]
                assert isinstance(children, list)
            except (KeyError, TypeError, AssertionError):
                raise FetchError(f"{listing.path} did not answer a Listing: {answer!r:.200}") from None
            names = [c["data"]["name"] for c in children
                     if isinstance(c, dict) and isinstance(c.get("data"), dict) and c["data"].get("name")]
            if not names:
                return
            items = [normalise(thing_to_mention, c) for c in reversed(children)]  # oldest first
            before = cursors[listing.key] = names[0]  # listings are newest first
            yield Batch(items, {listing.key: before}, quota_left=self.fetcher.state.quota_left)
            if len(children) < PAGE or "before" not in params:
                return  # caught up (a first run starts from the newest page, without backfill)

    def batches(self, cursors: dict[str, str]) -> Iterator[Batch]:
        cursors = dict(cursors)
        while True:
            for listing in self.listings:
                yield from self._catch_up(listing, cursors)
            if self.once:
                return
            yield from idle(self.poll_seconds, self.fetcher.sleep)
