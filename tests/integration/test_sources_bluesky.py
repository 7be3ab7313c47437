"""The Bluesky listeners against local servers: a Jetstream WebSocket and a searchPosts XRPC endpoint, with Kafka.

The WebSocket server replays tests/fixtures/bluesky/jetstream_events.jsonl from the `cursor` the client
asks for, refuses the first handshake with 429 + Retry-After, and drops the first connection half way.
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
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from infra.db import make_engine, migrate, session_factory
from infra.settings import Settings
from listeners.cursors import CursorStore
from listeners.producer import KafkaSink
from listeners.rules import load_rules
from listeners.runner import Dedupe, Listener, RulesHolder, Topics, apply_rules, run, warm_dedupe
from listeners.sources import bluesky
from listeners.sources.base import Backoff, SourceState
from listeners.sources.fetch import Fetcher
from stream.schema import DeadLetter, Mention

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bluesky"
EVENTS = [json.loads(line) for line in (FIXTURES / "jetstream_events.jsonl").read_text().splitlines()]
CREATES = [e for e in EVENTS if e["kind"] == "commit" and e["commit"]["operation"] == "create"]
VIEWS: list[dict[str, Any]] = json.loads((FIXTURES / "search_posts_views.json").read_text())


class FakeJetstream:
    def __init__(self) -> None:
        self.handshakes = 0
        self.cursors: list[int | None] = []
        self.drop_first_after = 30
        self.server = serve(self._handle, "127.0.0.1", 0, process_request=self._process_request)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/subscribe"

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.handshakes += 1
        if self.handshakes == 1:
            return Response(429, "Too Many Requests", Headers({"Retry-After": "4", "Content-Length": "0"}), b"")
        return None

    def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        query = parse_qs(urlsplit(connection.request.path).query)
        assert query["wantedCollections"] == ["app.bsky.feed.post"]
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        self.cursors.append(cursor)
        replay = [e for e in EVENTS if cursor is None or e["time_us"] >= cursor]
        for n, event in enumerate(replay):
            if len(self.cursors) == 1 and n == self.drop_first_after:
                return  # the connection drops half way
            connection.send(json.dumps(event))
        for _ in connection:  # stay open, quiet, until the client leaves
            pass


@pytest.fixture
def jetstream() -> Iterator[FakeJetstream]:
    fake = FakeJetstream()
    threading.Thread(target=fake.server.serve_forever, daemon=True).start()
    yield fake
    fake.server.shutdown()


def listener(lc: Settings, state: SourceState) -> Listener:
    dedupe = Dedupe()
    warm_dedupe(lc.kafka_bootstrap, lc.topic("mentions.raw"), dedupe)
    return Listener(state, KafkaSink(lc.kafka_bootstrap), Topics(lc.topic("mentions.raw"),
                    lc.topic("mentions.deadletter")), RulesHolder(load_rules()), lambda: datetime.now(UTC), dedupe)


def read_all(settings: Settings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=1000, group_id=None)
    try:
        return [r.value for r in consumer]
    finally:
        consumer.close()


def test_jetstream_429_dropped_connection_and_restart(lc: Settings, jetstream: FakeJetstream) -> None:
    store = CursorStore(session_factory(make_engine(lc.db_url)), "bluesky")
    migrate(lc.db_url)

    # First run: refused once (429), then dropped after 30 events, reconnects, stops after 40 posts.
    state = SourceState("bluesky")
    slept: list[float] = []
    source = bluesky.JetstreamSource(jetstream.url, state, slept.append, batch_size=10, batch_seconds=0.2,
                                     max_events=40, backoff=Backoff(base=0.01, cap=0.02))
    lis = listener(lc, state)
    run(source, lis, store, lambda: datetime.now(UTC))
    lis.sink.close()
    assert slept[0] == 4  # Retry-After of the refused handshake
    assert jetstream.cursors[0] is None and jetstream.cursors[1] is not None  # resumed after the drop
    stored = int(store.load()["jetstream"])

    # Restart: asks for the events after the stored cursor and reads to the end.
    state = SourceState("bluesky")
    source = bluesky.JetstreamSource(jetstream.url, state, slept.append, batch_size=10, batch_seconds=0.2,
                                     max_events=len(CREATES) - 40)
    lis = listener(lc, state)
    run(source, lis, store, lambda: datetime.now(UTC))
    lis.sink.close()
    assert jetstream.cursors[-1] == stored + 1

    mentions = [Mention.from_json(v) for v in read_all(lc, "mentions.raw")]
    ids = [m.id for m in mentions]
    assert len(ids) == len(set(ids))
    wanted = {f"bluesky:at://{e['did']}/app.bsky.feed.post/{e['commit']['rkey']}" for e in CREATES
              if "text" in e["commit"]["record"]}
    assert set(ids) <= wanted
    # Every well-formed post that names a brand was sent: none lost across the drop and the restart.
    rules = load_rules()
    branded = {m.id for m in (bluesky.jetstream_to_mention(e) for e in CREATES if "text" in e["commit"]["record"])
               if apply_rules(m, rules)}
    assert set(ids) == branded and len(branded) > 30
    (letter,) = [DeadLetter.from_json(v) for v in read_all(lc, "mentions.deadletter")]
    assert letter.reason == "KeyError: missing field 'text'" and letter.stage == "listener:bluesky"


class FakeAppView:
    def __init__(self) -> None:
        self.views = list(VIEWS)  # oldest first
        self.requests: list[dict[str, list[str]]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                fake.requests.append(query)
                assert url.path == "/xrpc/app.bsky.feed.searchPosts" and query["sort"] == ["latest"]
                newest_first = list(reversed(fake.views))
                if "since" in query:
                    newest_first = [v for v in newest_first if v["record"]["createdAt"] >= query["since"][0][:23]]
                start = int(query.get("cursor", ["0"])[0])
                page = newest_first[start:start + 12]  # small pages, to make the walk back visible
                body: dict[str, Any] = {"posts": page, "hitsTotal": len(newest_first)}
                if start + 12 < len(newest_first):
                    body["cursor"] = str(start + 12)
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def test_search_posts_walks_back_to_the_last_post_sent(lc: Settings) -> None:
    fake = FakeAppView()
    threading.Thread(target=fake.server.serve_forever, daemon=True).start()
    try:
        fake.views = VIEWS[:5]
        state = SourceState("bluesky-search")
        fetcher = Fetcher(httpx.Client(timeout=10), state, lambda s: None, lambda: datetime.now(UTC))
        source = bluesky.SearchSource(fake.url, ["skyway"], fetcher, once=True)
        (batch,) = source.batches({})
        assert len([i for i in batch.items if i.mention]) == 5
        cursor = batch.cursors
        assert cursor == {"search:skyway": VIEWS[4]["record"]["createdAt"].replace("Z", "000Z")}

        fake.views = VIEWS  # 25 more, over three pages
        later = [i.mention for b in source.batches(cursor) for i in b.items if i.mention]
        assert fake.requests[-1]["since"] == [cursor["search:skyway"]]
        # The post at the cursor time comes again (the listener's dedupe drops it), nothing is missed.
        assert [m.id.removeprefix("bluesky:") for m in later] == [v["uri"] for v in VIEWS[4:]]
        assert later[-1].author_handle.endswith(".bsky.social")
        assert later[-1].url.startswith("https://bsky.app/profile/")
    finally:
        fake.server.shutdown()
        fake.server.server_close()
