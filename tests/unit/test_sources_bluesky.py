"""Bluesky Jetstream events and searchPosts views to mentions (no network)."""

from __future__ import annotations

import json
from pathlib import Path

from listeners.sources import bluesky
from listeners.sources.base import normalise

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bluesky"
EVENTS = [json.loads(line) for line in (FIXTURES / "jetstream_events.jsonl").read_text().splitlines()]
VIEWS = json.loads((FIXTURES / "search_posts_views.json").read_text())


def test_only_post_creates_are_mentions() -> None:
    kinds = {(e["kind"], e.get("commit", {}).get("operation")) for e in EVENTS if not bluesky.is_post_create(e)}
    assert kinds == {("commit", "delete"), ("identity", None), ("account", None)}


def test_jetstream_post_and_search_view_share_the_at_uri_id() -> None:
    event = EVENTS[0]
    m = bluesky.jetstream_to_mention(event)
    rkey = event["commit"]["rkey"]
    assert m.id == f"bluesky:at://{event['did']}/app.bsky.feed.post/{rkey}"
    assert m.author_handle == event["did"] and m.lang == "en" and m.created_at.endswith("Z")
    view = VIEWS[0]
    v = bluesky.postview_to_mention(view)
    assert v.id == f"bluesky:{view['uri']}" and v.author_handle == view["author"]["handle"]
    assert v.url == f"https://bsky.app/profile/{view['author']['handle']}/post/{view['uri'].rsplit('/', 1)[1]}"


def test_a_post_without_text_is_dead_lettered() -> None:
    bad = next(e for e in EVENTS if bluesky.is_post_create(e) and "text" not in e["commit"]["record"])
    assert normalise(bluesky.jetstream_to_mention, bad).error == "KeyError: missing field 'text'"


def test_cursor_resumes_after_the_last_event() -> None:
    source = bluesky.JetstreamSource("wss://js.example/subscribe", None, lambda s: None)  # type: ignore[arg-type]
    assert source._url("1772452801401228").endswith("wantedCollections=app.bsky.feed.post&cursor=1772452801401229")
    assert source._url(None) == "wss://js.example/subscribe?wantedCollections=app.bsky.feed.post"
