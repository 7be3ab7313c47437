"""Server-sent events framing as the bench reads the console's live feed."""

from __future__ import annotations

import json

from infra.bench.feed import SseEvent, SseParser, mention_id
from web.feed import FeedEvent


def scored(mid: str) -> str:
    return json.dumps({"mention": {"id": mid, "text": "a: b\n"}, "sentiment": {"label": "negative"}})


def test_parses_what_the_console_sends() -> None:
    text = "retry: 3000\n\n" + FeedEvent(1, "mention", scored("m1")).to_sse() + ": keep-alive\n\n" \
        + FeedEvent(2, "state", '{"mention_id":"m1"}').to_sse()
    events = list(SseParser().events(text.split("\n")))
    assert [e.event for e in events] == ["mention", "state"]
    assert [mention_id(e) for e in events] == ["m1", None]


def test_data_lines_join_and_the_event_name_resets() -> None:
    p = SseParser()
    got = list(p.events(["event: x", "data: one", "data:two", "", "data: three", ""]))
    assert got == [SseEvent("x", "one\ntwo"), SseEvent("message", "three")]


def test_a_blank_line_without_data_dispatches_nothing() -> None:
    assert list(SseParser().events(["event: mention", "", "", ": comment", ""])) == []


def test_mention_id_ignores_what_is_not_a_scored_mention() -> None:
    assert mention_id(SseEvent("mention", "not json")) is None
    assert mention_id(SseEvent("mention", '{"mention": {"id": 3}}')) is None
    assert mention_id(SseEvent("mention", "[]")) is None
    assert mention_id(SseEvent("message", scored("m2"))) is None
