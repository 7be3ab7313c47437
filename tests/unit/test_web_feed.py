"""The live feed: buffer, fan-out, the SSE text, and the home page's stream through the app."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from tests.unit.web_fixtures import add_user, login, make_app, scored, state
from web.feed import FeedHub, sse_stream


def _events(text: str) -> list[tuple[str, dict[str, object]]]:
    found = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_recent_buffer_is_bounded_and_newest_first() -> None:
    hub = FeedHub(capacity=3)
    for i in range(5):
        hub.publish(scored(f"m:{i}"))
    assert [s.mention.id for s in hub.recent()] == ["m:4", "m:3", "m:2"]
    assert hub.find("m:3") is not None and hub.find("m:0") is None


def test_every_subscriber_gets_each_event() -> None:
    hub = FeedHub()
    a, b = hub.subscribe(), hub.subscribe()
    hub.publish(scored("m:1"))
    hub.publish_state({"mention_id": "m:1", "state": "taken"})
    for sub in (a, b):
        first, second = sub.get(0.1), sub.get(0.1)
        assert first is not None and first.kind == "mention"
        assert second is not None and second.kind == "state" and second.seq > first.seq
    a.close()
    assert hub.subscriber_count == 1


def test_a_stuck_subscriber_is_dropped_not_waited_for(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("web.feed.SUBSCRIBER_CAPACITY", 2)
    hub = FeedHub()
    slow = hub.subscribe()
    for i in range(3):
        hub.publish(scored(f"m:{i}"))
    assert slow.dropped and hub.subscriber_count == 0


def test_stream_sends_backlog_oldest_first_then_live_events() -> None:
    hub = FeedHub()
    hub.publish(scored("m:1"))
    hub.publish(scored("m:2"))
    stream = sse_stream(hub, {"m:1": {"mention_id": "m:1", "state": "taken"}}, heartbeat=0.05, max_events=4)
    chunks = [next(stream) for _ in range(4)]  # retry line, two mentions, one state
    assert chunks[0].startswith("retry:")
    live = threading.Timer(0.01, lambda: hub.publish(scored("m:3")))
    live.start()
    chunks += list(stream)
    events = _events("".join(chunks))
    assert events[0][0] == "mention"
    ids = [d["mention"]["id"] for k, d in events if k == "mention"]  # type: ignore[index]
    assert ids == ["m:1", "m:2", "m:3"]
    assert ("state", {"mention_id": "m:1", "state": "taken"}) in events
    assert hub.subscriber_count == 0  # the generator unsubscribed when it ended


def test_idle_stream_sends_heartbeats() -> None:
    text = "".join(sse_stream(FeedHub(), heartbeat=0.01, max_idle=3))
    assert text.count(": keep-alive") == 2


def test_home_page_stream_delivers_scored_mentions_as_json(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    add_user(app, "ana", "agent")
    client = app.test_client()
    login(client, "ana")
    state(app).hub.publish(scored("mastodon:9", "<b>bold</b> & late"))
    resp = client.get("/feed/stream")
    assert resp.mimetype == "text/event-stream"
    events = _events(resp.get_data(as_text=True))
    assert events[0][0] == "mention"
    assert events[0][1]["mention"]["text"] == "<b>bold</b> & late"  # type: ignore[index]


def test_home_page_has_no_inline_script_and_loads_the_queue_script(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    add_user(app, "ana", "agent")
    client = app.test_client()
    login(client, "ana")
    html = client.get("/").get_data(as_text=True)
    assert 'src="/static/queue.js"' in html
    assert "<script>" not in html and "onclick" not in html


def test_healthz_is_public_and_reports_the_feed(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    state(app).hub.publish(scored())
    body = app.test_client().get("/healthz").get_json()
    assert body["status"] == "ok" and body["feed"]["published"] == 1


def test_feed_alone_works_with_login_disabled_for_pipeline_tests(tmp_path: Path) -> None:
    app = make_app(tmp_path, LOGIN_DISABLED=True)
    state(app).hub.publish(scored("mastodon:1"))
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert "mastodon:1" in client.get("/feed/stream").get_data(as_text=True)
