"""Mastodon statuses to mentions, and the fetcher's handling of 429, errors and quota (no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from listeners.sources import mastodon
from listeners.sources.base import Backoff, SourceOff, SourceState, normalise
from listeners.sources.fetch import Fetcher, FetchError, quota_left, quota_reset_in
from listeners.sources.text import html_to_text

STATUSES: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parent.parent / "fixtures" / "mastodon" / "tag_skywayair.json").read_text())
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_status_becomes_a_mention_with_a_global_id_and_handle() -> None:
    local = next(s for s in STATUSES if "@" not in s["account"]["acct"])
    m = mastodon.status_to_mention(local)
    assert m.id == f"mastodon:{local['uri']}"
    assert m.author_handle == f"{local['account']['acct']}@mastodon.example"
    assert m.author_followers == local["account"]["followers_count"]
    assert m.text == "@BlueJet BJ1577 cancelled, hotel voucher refused, sleeping on the floor at AUS 🤬"
    assert m.lang == "en" and m.url == local["url"]


def test_a_boost_is_its_original_post() -> None:
    boost = next(s for s in STATUSES if s.get("reblog"))
    assert mastodon.status_to_mention(boost).id == f"mastodon:{boost['reblog']['uri']}"


def test_a_status_without_content_is_dead_lettered() -> None:
    item = normalise(mastodon.status_to_mention, STATUSES[31])
    assert item.mention is None and item.error == "KeyError: missing field 'content'"


def test_newest_id_compares_numerically() -> None:
    assert mastodon.newest_id([{"id": "99"}, {"id": "100"}, {"nope": 1}]) == "100"
    assert mastodon.newest_id([]) is None


def test_no_instance_or_no_feed_means_off() -> None:
    fetcher = Fetcher(httpx.Client(), SourceState("m"), lambda s: None, lambda: NOW)
    with pytest.raises(SourceOff, match="LC_MASTODON_URL"):
        mastodon.MastodonSource("", mastodon.feeds_from(["x"], [], [], ""), fetcher)
    with pytest.raises(SourceOff, match="LC_MASTODON_HASHTAGS"):
        mastodon.MastodonSource("https://m.example", mastodon.feeds_from([], [], ["skyway"], ""), fetcher)


def test_html_to_text_keeps_paragraphs() -> None:
    assert html_to_text("<p>a &amp; <b>b</b></p><p>c<br/>d</p>") == "a & b\nc\nd"


def fetcher_for(answers: list[httpx.Response]) -> tuple[Fetcher, list[float], SourceState]:
    queue = list(answers)

    def handler(_request: httpx.Request) -> httpx.Response:
        return queue.pop(0)

    slept: list[float] = []
    state = SourceState("m")
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return Fetcher(client, state, slept.append, lambda: NOW, backoff=Backoff(base=1, cap=4), max_tries=3), slept, state


def test_429_waits_for_retry_after_then_succeeds() -> None:
    fetcher, slept, state = fetcher_for([
        httpx.Response(429, headers={"Retry-After": "12"}),
        httpx.Response(200, json=[1], headers={"X-RateLimit-Remaining": "0",
                                               "X-RateLimit-Reset": "2026-03-02T12:05:00Z"}),
        httpx.Response(200, json=[2]),
    ])
    assert fetcher.get_json("http://x/") == [1]
    assert slept == [12] and state.quota_left == 0 and state.status == "running"
    assert fetcher.get_json("http://x/") == [2]
    assert slept == [12, 300]  # the quota window was waited out before the next call


def test_server_errors_back_off_then_give_up_and_4xx_fails_at_once() -> None:
    fetcher, slept, state = fetcher_for([httpx.Response(503)] * 3)
    with pytest.raises(FetchError, match="gave up"):
        fetcher.get_json("http://x/")
    assert len(slept) == 3 and all(0 <= s <= 4 for s in slept) and "503" in (state.last_error or "")
    fetcher, slept, _ = fetcher_for([httpx.Response(401, text="The access token is invalid")])
    with pytest.raises(FetchError, match=r"401 .* access token is invalid"):
        fetcher.get_json("http://x/")
    assert slept == []


def test_quota_headers_of_both_platforms() -> None:
    assert quota_left({"x-ratelimit-remaining": "588.0"}) == 588
    assert quota_reset_in({"x-ratelimit-reset": "45"}, NOW) == 45
    assert quota_reset_in({"x-ratelimit-reset": "2026-03-02T12:01:00.000Z"}, NOW) == 60
