"""The console against the real broker: the feed consumer delivers mentions.scored to an SSE client, and
links/unlinks land on identity.links keyed by handle (unlink = tombstone)."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from kafka import KafkaConsumer, KafkaProducer

from infra.settings import Settings
from stream.schema import IdentityLink
from tests.browser.console_server import live_console
from tests.conftest import wait_for
from tests.unit.web_fixtures import scored

pytestmark = pytest.mark.integration


def _produce(settings: Settings, *items: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for value in items:
        producer.send(settings.topic("mentions.scored"), key=b"skyway", value=value)
    producer.flush()
    producer.close()


def test_sse_stream_delivers_a_mention_produced_to_kafka(lc: Settings) -> None:
    _produce(lc, scored("mastodon:before").to_json())
    with live_console(lc, START_FEED=True) as console:
        console.add_user("ana", "agent")
        assert console.state.consumer is not None
        wait_for(lambda: console.state.hub.find("mastodon:before"), timeout=30, what="backfill of the feed")
        received: list[dict[str, object]] = []
        with httpx.Client(timeout=30) as client:
            console.login(client, "ana")

            def read() -> None:
                with client.stream("GET", f"{console.url}/feed/stream") as resp:
                    for line in resp.iter_lines():
                        if line.startswith("data: "):
                            received.append(json.loads(line[6:]))
                            if '"id":"mastodon:live"' in line:
                                return

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            wait_for(lambda: console.state.hub.subscriber_count == 1, timeout=10, what="the SSE subscriber")
            started = time.monotonic()
            _produce(lc, b"not json", scored("mastodon:live", "<i>late</i> again").to_json())
            reader.join(30)
            latency = time.monotonic() - started
        ids = [r["mention"]["id"] for r in received if "mention" in r]  # type: ignore[index]
        assert ids[0] == "mastodon:before" and ids[-1] == "mastodon:live"
        print(f"produce -> SSE latency: {latency * 1000:.0f} ms")


def test_link_and_unlink_reach_identity_links(lc: Settings) -> None:
    from infra.db import transaction
    from web.models import Member

    with live_console(lc, START_FEED=False) as console:
        console.add_user("ana", "agent")
        with transaction(console.state.sessions) as s:
            s.add(Member(loyalty_id="AB123456", name="Ana", tier="gold", email="", created_at=console.state.clock()))
        with httpx.Client(timeout=30) as client:
            token = console.login(client, "ana")
            resp = client.post(
                f"{console.url}/customers/AB123456/links",
                data={"csrf_token": token, "platform": "mastodon", "handle": "@Ana"},
            )
            assert resp.status_code == 302
            link_id = 1
            resp = client.post(f"{console.url}/customers/links/{link_id}/unlink", data={"csrf_token": token})
            assert resp.status_code == 302
    consumer = KafkaConsumer(
        lc.topic("identity.links"),
        bootstrap_servers=lc.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    records = [(r.key, r.value) for r in consumer]
    consumer.close()
    assert records[0][0] == b"mastodon:ana"
    assert records[0][1] is not None
    assert IdentityLink.from_json(records[0][1]).tier == "gold"
    assert records[1] == (b"mastodon:ana", None)
