"""The RSS/Atom listener against a local feed server (ETag, Last-Modified, 304, 429) and the real Kafka."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer

from infra.db import make_engine, migrate, session_factory
from infra.settings import Settings
from listeners.cursors import CursorStore
from listeners.producer import DeliveryError, KafkaSink
from listeners.rules import load_rules
from listeners.runner import Dedupe, Listener, RulesHolder, Topics, run, warm_dedupe
from listeners.sources import rss
from listeners.sources.base import Backoff, SourceState
from listeners.sources.fetch import Fetcher, FetchError
from stream.schema import DeadLetter, Mention

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rss"
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


class FeedServer:
    def __init__(self) -> None:
        self.version = "v1"
        self.seen: list[tuple[str, str | None, int]] = []  # (path, If-None-Match, status)
        self.throttle_next = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
                fake.seen.append((self.path, self.headers.get("If-None-Match"), status))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if fake.throttle_next:
                    fake.throttle_next = False
                    self._send(429, b"", **{"Retry-After": "3"})
                elif self.path == "/reviews.rss":
                    etag = f'"reviews-{fake.version}"'
                    if self.headers.get("If-None-Match") == etag:
                        self._send(304, ETag=etag)
                        return
                    body = (FIXTURES / f"reviews_{fake.version}.xml").read_bytes()
                    self._send(200, body, ETag=etag, **{"Content-Type": "application/rss+xml",
                                                        "Last-Modified": "Mon, 02 Mar 2026 11:00:00 GMT"})
                elif self.path == "/news.atom":
                    self._send(200, (FIXTURES / "news_atom.xml").read_bytes(),
                               **{"Content-Type": "application/atom+xml"})
                elif self.path == "/broken":
                    self._send(200, b"<html><body>Maintenance</body>", **{"Content-Type": "text/html"})
                else:
                    self._send(404)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    threading.Thread(target=server.server.serve_forever, daemon=True).start()
    yield server
    server.server.shutdown()
    server.server.server_close()


class CrashAfterSend(KafkaSink):
    """Kafka gets the records, then the process 'dies' before it could store the cursor."""

    def flush(self) -> None:
        super().flush()
        raise DeliveryError("simulated crash after the records were sent")


def parts(
    lc: Settings, urls: list[str], sink: KafkaSink | None = None
) -> tuple[rss.RssSource, Listener, list[float]]:
    state = SourceState("rss")
    slept: list[float] = []
    fetcher = Fetcher(httpx.Client(timeout=10), state, slept.append, lambda: NOW, backoff=Backoff(base=0.5, cap=2),
                      max_tries=3)
    dedupe = Dedupe()
    warm_dedupe(lc.kafka_bootstrap, lc.topic("mentions.raw"), dedupe)
    listener = Listener(state, sink or KafkaSink(lc.kafka_bootstrap), Topics(lc.topic("mentions.raw"),
                        lc.topic("mentions.deadletter")), RulesHolder(load_rules()), lambda: datetime.now(UTC), dedupe)
    return rss.RssSource(urls, fetcher, once=True), listener, slept


def read_all(settings: Settings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=1000, group_id=None)
    try:
        return [r.value for r in consumer]
    finally:
        consumer.close()


def test_conditional_gets_429_and_a_crash_between_send_and_cursor(lc: Settings, feeds: FeedServer) -> None:
    store = CursorStore(session_factory(make_engine(lc.db_url)), "rss")
    migrate(lc.db_url)
    url = feeds.url("/reviews.rss")

    source, listener, _ = parts(lc, [url])
    run(source, listener, store, lambda: datetime.now(UTC))
    listener.sink.close()
    assert store.load()[f"etag:{url}"] == '"reviews-v1"'

    source, listener, _ = parts(lc, [url])  # unchanged feed: a 304, nothing sent
    run(source, listener, store, lambda: datetime.now(UTC))
    listener.sink.close()
    assert feeds.seen[-1] == ("/reviews.rss", '"reviews-v1"', 304)
    assert listener.state.items == 0

    feeds.version, feeds.throttle_next = "v2", True
    source, listener, slept = parts(lc, [url], CrashAfterSend(lc.kafka_bootstrap))
    with pytest.raises(DeliveryError):
        run(source, listener, store, lambda: datetime.now(UTC))
    listener.sink.close()
    assert slept == [3]  # Retry-After honoured
    assert store.load()[f"etag:{url}"] == '"reviews-v1"'  # the cursor did not move

    source, listener, _ = parts(lc, [url])  # the restart reads v2 again; what Kafka has is not re-sent
    run(source, listener, store, lambda: datetime.now(UTC))
    listener.sink.close()
    assert store.load()[f"etag:{url}"] == '"reviews-v2"'
    # All 15 new entries were already in Kafka, and the newest v1 entry is re-read at the boundary time.
    assert listener.state.items == 0 and listener.state.dropped == 16

    ids = [Mention.from_json(v).id for v in read_all(lc, "mentions.raw")]
    assert len(ids) == len(set(ids)) == 25
    assert set(ids) == {f"rss:reviews.example:review-{i}" for i in range(25)}
    letters = {DeadLetter.from_json(v).reason for v in read_all(lc, "mentions.deadletter")}
    assert letters == {"ValueError: entry has no published or updated date"}


def test_atom_feeds_too_and_a_broken_feed_does_not_stop_the_others(lc: Settings, feeds: FeedServer) -> None:
    source, listener, _ = parts(lc, [feeds.url("/broken"), feeds.url("/news.atom")])
    batches = []
    with pytest.raises(FetchError, match="not a readable feed"):
        for batch in source.batches({}):
            batches.append(batch)
    listener.sink.close()
    (batch,) = batches
    assert [i.mention.id for i in batch.items if i.mention] == [
        f"rss:tag:news.example,2026:story-{i}" for i in range(3)]
    assert "not a readable feed" in (source.fetcher.state.last_error or "")
