"""The Reddit listener against a local server speaking Reddit's OAuth and JSON listings, and the real Kafka.

tests/fixtures/reddit/r_flying_new.json is a Listing of t3 posts (oldest first in the file); the server
serves it newest first with `before` paging, Reddit's rate-limit headers, a 429 and an outage on demand.
"""

from __future__ import annotations

import base64
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
from listeners.cursors import CursorStore
from listeners.producer import KafkaSink
from listeners.rules import load_rules
from listeners.runner import Dedupe, Listener, RulesHolder, Topics, run, warm_dedupe
from listeners.sources import reddit
from listeners.sources.base import Backoff, SourceState
from listeners.sources.fetch import Fetcher, FetchError
from stream.schema import DeadLetter, Mention

pytestmark = pytest.mark.integration

LISTING: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "fixtures" / "reddit" / "r_flying_new.json").read_text())
THINGS: list[dict[str, Any]] = LISTING["data"]["children"]
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


class FakeReddit:
    def __init__(self) -> None:
        self.published = len(THINGS)
        self.calls: list[str] = []
        self.throttle_on: set[int] = set()
        self.broken_from: int | None = None
        self.tokens_issued = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def listing(self, query: dict[str, list[str]]) -> dict[str, Any]:
        live = THINGS[: self.published]
        limit = int(query.get("limit", ["25"])[0])
        if "before" in query:
            names = [t["data"]["name"] for t in live]
            at = names.index(query["before"][0])
            page = live[at + 1: at + 1 + limit]
        else:
            page = live[-limit:]
        return {"kind": "Listing", "data": {**LISTING["data"], "children": list(reversed(page)), "dist": len(page)}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, status: int, body: Any, **headers: str) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                basic = base64.b64encode(b"app-id:app-secret").decode()
                if self.path != "/api/v1/access_token" or self.headers.get("Authorization") != f"Basic {basic}":
                    self._json(401, {"message": "Unauthorized", "error": 401})
                    return
                assert form["grant_type"] == ["client_credentials"]
                fake.tokens_issued += 1
                self._json(200, {"access_token": "tok-1", "token_type": "bearer", "expires_in": 86400, "scope": "*"})

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                fake.calls.append(self.path)
                number = len(fake.calls)
                if self.headers.get("Authorization") != "bearer tok-1":
                    self._json(401, {"message": "Unauthorized", "error": 401})
                    return
                if number in fake.throttle_on:
                    self._json(429, {"message": "Too Many Requests", "error": 429}, **{"Retry-After": "5"})
                    return
                if fake.broken_from is not None and number >= fake.broken_from:
                    self._json(500, {"message": "Internal Server Error", "error": 500})
                    return
                limits = {"X-Ratelimit-Used": str(number), "X-Ratelimit-Remaining": f"{max(0, 6 - number)}.0",
                          "X-Ratelimit-Reset": "30"}
                if url.path == "/r/flying/new":
                    self._json(200, fake.listing(parse_qs(url.query)), **limits)
                elif url.path == "/r/flying/comments":
                    self._json(200, {"kind": "Listing", "data": {**LISTING["data"], "children": []}}, **limits)
                else:
                    self._json(404, {"message": "Not Found", "error": 404})

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def fake() -> Iterator[FakeReddit]:
    server = FakeReddit()
    threading.Thread(target=server.server.serve_forever, daemon=True).start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def parts(
    lc: Settings, fake: FakeReddit, secret: str = "app-secret"
) -> tuple[reddit.RedditSource, Listener, list[float]]:
    state = SourceState("reddit")
    slept: list[float] = []
    fetcher = Fetcher(httpx.Client(timeout=10), state, slept.append, lambda: NOW, backoff=Backoff(base=0.5, cap=2),
                      max_tries=3)
    source = reddit.RedditSource(fake.url, f"{fake.url}/api/v1/access_token", "app-id", secret,
                                 reddit.listings_from(["r/flying"], []), fetcher, once=True)
    dedupe = Dedupe()
    warm_dedupe(lc.kafka_bootstrap, lc.topic("mentions.raw"), dedupe)
    listener = Listener(state, KafkaSink(lc.kafka_bootstrap), Topics(lc.topic("mentions.raw"),
                        lc.topic("mentions.deadletter")), RulesHolder(load_rules()), lambda: datetime.now(UTC), dedupe)
    return source, listener, slept


def read_all(settings: Settings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=1000, group_id=None)
    try:
        return [r.value for r in consumer]
    finally:
        consumer.close()


def test_listings_rate_limits_429_malformed_and_restart(lc: Settings, fake: FakeReddit) -> None:
    engine = make_engine(lc.db_url)
    migrate(lc.db_url)
    store = CursorStore(session_factory(engine), "reddit")

    fake.published = 20
    source, listener, slept = parts(lc, fake)
    run(source, listener, store, lambda: datetime.now(UTC))
    listener.sink.close()
    assert store.load()["new:flying"] == THINGS[19]["data"]["name"]

    # 131 more; a 429 on the next call, and the server breaks on the second page.
    fake.published = len(THINGS)
    fake.throttle_on = {len(fake.calls) + 1}
    fake.broken_from = len(fake.calls) + 3
    source, listener, slept = parts(lc, fake)
    with pytest.raises(FetchError, match="gave up"):
        run(source, listener, store, lambda: datetime.now(UTC))
    listener.sink.close()
    assert slept[0] == 5  # Retry-After
    assert store.load()["new:flying"] == THINGS[119]["data"]["name"]  # 20 + 100 acknowledged

    fake.broken_from = None
    source, listener, slept = parts(lc, fake)
    run(source, listener, store, lambda: datetime.now(UTC))
    listener.sink.close()
    assert 30 in slept  # the quota ran out (X-Ratelimit-Remaining 0): waited for X-Ratelimit-Reset
    assert store.load()["new:flying"] == THINGS[-1]["data"]["name"]

    mentions = [Mention.from_json(v) for v in read_all(lc, "mentions.raw")]
    ids = [m.id for m in mentions]
    assert len(ids) == len(set(ids))
    assert set(ids) == {f"reddit:{t['data']['name']}" for t in THINGS if "title" in t["data"]}
    (letter,) = [DeadLetter.from_json(v) for v in read_all(lc, "mentions.deadletter")]
    assert letter.reason == "KeyError: missing field 'title'"
    first = next(m for m in mentions if m.id == f"reddit:{THINGS[0]['data']['name']}")
    assert first.url.startswith("https://www.reddit.com/r/flying/")
    assert first.text.endswith("Anyone else seeing this today?")


def test_wrong_credentials_fail_with_the_reason(lc: Settings, fake: FakeReddit) -> None:
    source, listener, _ = parts(lc, fake, secret="wrong")
    with pytest.raises(FetchError, match="401"):
        list(source.batches({}))
    listener.sink.close()
