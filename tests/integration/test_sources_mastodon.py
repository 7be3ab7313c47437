"""The Mastodon listener against a local server speaking the documented REST API, and the real Kafka.

The server serves tests/fixtures/mastodon/tag_skywayair.json (Status entities) as a growing hashtag
timeline with min_id paging, answers 429 with Retry-After when told to, and fails for good when told to,
which is how a listener gets stopped half way.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from kafka import KafkaConsumer

from infra.db import make_engine, migrate, session_factory
from infra.settings import Settings
from listeners.cursors import CursorStore, read_states
from listeners.producer import KafkaSink
from listeners.rules import load_rules
from listeners.runner import Dedupe, Listener, RulesHolder, Topics, run, warm_dedupe
from listeners.sources import mastodon
from listeners.sources.base import Backoff, SourceState
from listeners.sources.fetch import Fetcher, FetchError
from stream.schema import DeadLetter, Mention

pytestmark = pytest.mark.integration

STATUSES: list[dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parent.parent / "fixtures" / "mastodon" / "tag_skywayair.json").read_text())


class FakeMastodon:
    def __init__(self) -> None:
        self.published = len(STATUSES)
        self.requests: list[dict[str, list[str]]] = []
        self.throttle_on: set[int] = set()  # request numbers answered 429
        self.broken_from: int | None = None  # from this request number on, 503
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def page(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        live = STATUSES[: self.published]
        limit = int(query.get("limit", ["20"])[0])
        if "min_id" in query:
            after = [s for s in live if int(s["id"]) > int(query["min_id"][0])][:limit]
        else:
            after = live[-limit:]
        return list(reversed(after))  # newest first, as the API answers

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                fake.requests.append(query)
                number = len(fake.requests)
                if url.path.lower() != "/api/v1/timelines/tag/skywayair":  # tags are case-insensitive
                    self.send_error(404)
                    return
                if number in fake.throttle_on:
                    self.send_response(429)
                    self.send_header("Retry-After", "7")
                    self.end_headers()
                    return
                if fake.broken_from is not None and number >= fake.broken_from:
                    self.send_error(503)
                    return
                body = json.dumps(fake.page(query)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-RateLimit-Limit", "300")
                self.send_header("X-RateLimit-Remaining", str(300 - number))
                self.send_header("X-RateLimit-Reset", "2026-03-02T12:05:00.000Z")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    server = FakeMastodon()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def listener_parts(lc: Settings, fake: FakeMastodon) -> tuple[mastodon.MastodonSource, Listener, list[float]]:
    state = SourceState("mastodon")
    slept: list[float] = []
    fetcher = Fetcher(httpx.Client(timeout=10), state, slept.append, lambda: datetime(2026, 3, 2, 12, tzinfo=UTC),
                      backoff=Backoff(base=0.5, cap=4), max_tries=3)
    feeds = mastodon.feeds_from(["SkywayAir"], [], [], "")
    source = mastodon.MastodonSource(fake.url, feeds, fetcher, once=True)
    dedupe = Dedupe()
    warm_dedupe(lc.kafka_bootstrap, lc.topic("mentions.raw"), dedupe)  # as `listen` does on start
    listener = Listener(state, KafkaSink(lc.kafka_bootstrap),
                        Topics(lc.topic("mentions.raw"), lc.topic("mentions.deadletter")),
                        RulesHolder(load_rules()), lambda: datetime.now(UTC), dedupe)
    return source, listener, slept


def read_all(settings: Settings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=1000, group_id=None)
    try:
        return [r.value for r in consumer]
    finally:
        consumer.close()


def test_pages_429_malformed_and_a_restart_in_the_middle(lc: Settings, fake: FakeMastodon) -> None:
    engine = make_engine(lc.db_url)
    migrate(lc.db_url)
    store = CursorStore(session_factory(engine), "mastodon")

    # First run: the timeline has 10 statuses; a first run takes the newest page and sets the cursor.
    fake.published = 10
    source, listener, _ = listener_parts(lc, fake)
    run(source, listener, store, lambda: datetime.now(UTC))
    listener.sink.close()
    assert store.load() == {"tag:skywayair": STATUSES[9]["id"]}

    # 87 more arrive. The second run pages forward (40 a page), is throttled once, then the server
    # breaks on the third page: the listener stops with the cursor after the last acknowledged page.
    fake.published = len(STATUSES)
    fake.throttle_on = {len(fake.requests) + 2}
    fake.broken_from = len(fake.requests) + 4
    source, listener, slept = listener_parts(lc, fake)
    with pytest.raises(FetchError, match="gave up"):
        run(source, listener, store, lambda: datetime.now(UTC))
    listener.sink.close()
    assert slept[0] == 7  # Retry-After honoured
    assert store.load() == {"tag:skywayair": STATUSES[89]["id"]}  # 10 + 40 + 40
    (state,) = read_states(store.factory)
    assert "503" in state["last_error"] and state["quota_left"] is not None

    # The server recovers; the restarted listener picks up after the cursor.
    fake.broken_from = None
    source, listener, _ = listener_parts(lc, fake)
    run(source, listener, store, lambda: datetime.now(UTC))
    listener.sink.close()
    assert store.load() == {"tag:skywayair": STATUSES[-1]["id"]}

    # Every status once: the malformed one dead-lettered, the boost the same mention as its original.
    mentions = [Mention.from_json(v) for v in read_all(lc, "mentions.raw")]
    ids = [m.id for m in mentions]
    assert len(ids) == len(set(ids))
    wanted = {f"mastodon:{s['uri']}" for s in STATUSES if "content" in s and not s.get("reblog")}
    assert set(ids) == wanted
    (letter,) = [DeadLetter.from_json(v) for v in read_all(lc, "mentions.deadletter")]
    assert letter.reason == "KeyError: missing field 'content'"
    assert json.loads(letter.original)["id"] == STATUSES[31]["id"]
    sample = next(m for m in mentions if m.id.endswith(STATUSES[0]["id"]))
    assert sample.author_handle.endswith("@social.example") and sample.brand
    assert "<" not in sample.text


def test_streaming_updates_between_rest_rounds_leave_no_gap(lc: Settings, fake: FakeMastodon) -> None:
    """REST catches up to status 49, the stream pushes 50..69 and drops, the next REST round brings 70..96."""
    from websockets.sync.client import connect
    from websockets.sync.server import ServerConnection, serve

    fake.published = 50
    pushed: list[str] = []

    def handle(connection: ServerConnection) -> None:
        assert connection.request is not None
        pushed.append(connection.request.path)
        if len(pushed) > 1:
            for _ in connection:  # a later connection: quiet until the client leaves
                pass
            return
        for status in STATUSES[50:70]:
            connection.send(json.dumps({"stream": ["hashtag", "skywayair"], "event": "update",
                                        "payload": json.dumps(status)}))
        connection.send(json.dumps({"stream": ["hashtag", "skywayair"], "event": "delete", "payload": "1"}))
        fake.published = len(STATUSES)  # meanwhile more arrived; the stream drops before pushing them

    ws = serve(handle, "127.0.0.1", 0)
    threading.Thread(target=ws.serve_forever, daemon=True).start()
    ws_port = ws.socket.getsockname()[1]
    try:
        engine = make_engine(lc.db_url)
        migrate(lc.db_url)
        store = CursorStore(session_factory(engine), "mastodon")
        store.save({"tag:skywayair": STATUSES[9]["id"]}, datetime.now(UTC))
        state = SourceState("mastodon")
        fetcher = Fetcher(httpx.Client(timeout=10), state, lambda s: None, lambda: datetime.now(UTC))
        rest_port = fake.url.rsplit(":", 1)[1]
        source = mastodon.MastodonSource(
            fake.url, mastodon.feeds_from(["SkywayAir"], [], [], ""), fetcher, "tok", poll_seconds=30, stream=True,
            connect=lambda url: connect(url.replace(f":{rest_port}/", f":{ws_port}/"), close_timeout=1))
        listener = Listener(state, KafkaSink(lc.kafka_bootstrap),
                            Topics(lc.topic("mentions.raw"), lc.topic("mentions.deadletter")),
                            RulesHolder(load_rules()), lambda: datetime.now(UTC))
        run(source, listener, store, lambda: datetime.now(UTC), max_items=40 + 20 + 27)
        listener.sink.close()
    finally:
        ws.shutdown()
    assert pushed[0] == "/api/v1/streaming?stream=hashtag&tag=skywayair&access_token=tok"
    assert store.load() == {"tag:skywayair": STATUSES[-1]["id"]}
    ids = [Mention.from_json(v).id for v in read_all(lc, "mentions.raw")]
    assert len(ids) == len(set(ids))
    # A boost in the range brings its (older) original: that is the post it shows.
    wanted = {f"mastodon:{(s.get('reblog') or s)['uri']}" for s in STATUSES[10:] if "content" in s}
    assert set(ids) == wanted
