"""Reddit listing children to mentions (no network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from listeners.sources import reddit
from listeners.sources.base import SourceOff, normalise

LISTING: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "fixtures" / "reddit" / "r_flying_new.json").read_text())


def test_link_post_and_comment_become_mentions() -> None:
    post = reddit.thing_to_mention(LISTING["data"]["children"][0])
    assert post.id.startswith("reddit:t3_") and post.created_at.endswith("Z")
    assert post.text.endswith("\n\nAnyone else seeing this today?")
    comment = reddit.thing_to_mention({"kind": "t1", "data": {
        "name": "t1_abc", "body": "@SkywayAir same here", "author": "amy", "created_utc": 1772452800.0,
        "permalink": "/r/flying/comments/1b0000/x/abc/"}})
    assert (comment.id, comment.text, comment.created_at) == (
        "reddit:t1_abc", "@SkywayAir same here", "2026-03-02T12:00:00Z")


def test_unknown_kinds_and_missing_fields_are_dead_lettered() -> None:
    odd = normalise(reddit.thing_to_mention, {"kind": "t5", "data": {}})
    assert odd.error == "ValueError: unexpected thing kind 't5'"
    bad = next(c for c in LISTING["data"]["children"] if "title" not in c["data"])
    assert normalise(reddit.thing_to_mention, bad).error == "KeyError: missing field 'title'"


def test_listings_and_off_without_credentials() -> None:
    keys = [x.key for x in reddit.listings_from(["r/flying", "travel"], ["skyway air"])]
    assert keys == ["new:flying", "comments:flying", "new:travel", "comments:travel", "search:skyway air"]
    with pytest.raises(SourceOff, match="LC_REDDIT_CLIENT_ID"):
        reddit.RedditSource("u", "t", "", "", [], None)  # type: ignore[arg-type]
