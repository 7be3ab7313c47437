"""Replay and webhook listeners against the real Kafka: resumed replays, signed pushes answered after the ack."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from kafka import KafkaConsumer

from infra.db import make_engine, migrate, session_factory
from infra.settings import Settings
from listeners.cursors import CursorStore
from listeners.producer import KafkaSink
from listeners.rules import load_rules
from listeners.runner import Listener, RulesHolder, Topics, run
from listeners.sources import demo, webhook
from listeners.sources.base import SourceState
from stream.schema import DeadLetter, Mention
from tests.conftest import Processes

pytestmark = pytest.mark.integration


def read_all(settings: Settings, topic: str, idle_ms: int = 1500) -> list[tuple[bytes | None, bytes]]:
    consumer = KafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=idle_ms, group_id=None)
    try:
        return [(r.key, r.value) for r in consumer]
    finally:
        consumer.close()


def test_replay_stopped_half_way_resumes_without_gap_or_duplicate(
    lc: Settings, processes: Processes, tmp_path: Path
) -> None:
    path = tmp_path / "history.jsonl"
    written = demo.write_jsonl(path, "incident", 9, datetime(2026, 3, 2, 12, tzinfo=UTC),
                               duration=timedelta(minutes=90), per_minute=12)
    with path.open("a") as f:
        f.write('{"id": "broken", "text": "@SkywayAir x"}\n')  # no created_at: dead-lettered
    args = ("listen", "replay", "--file", str(path), "--speed", "0", "--no-live-rules")
    first = processes.start("first", *args, "--max-items", "500")
    assert first.wait(60) == 0, processes.log("first")
    assert json.loads(processes.log("first").splitlines()[-1])["sent"] <= 500
    second = processes.start("second", *args)
    assert second.wait(60) == 0, processes.log("second")

    ids = [k.decode() for k, _v in read_all(lc, "mentions.raw") if k]
    expected = [f"demo:{json.loads(line)['id'].removeprefix('demo:')}" for line in path.read_text().splitlines()[:-1]]
    assert len(ids) == len(set(ids))  # no duplicate
    assert set(ids) == set(expected)  # no gap (every demo mention names a brand the rules know)
    assert len(ids) == written
    (letter,) = [DeadLetter.from_json(v) for _k, v in read_all(lc, "mentions.deadletter")]
    assert letter.reason.startswith(f"line {written + 1}: KeyError") and letter.stage == "listener:replay"


@pytest.fixture
def running_webhook(lc: Settings, tmp_path: Path) -> Iterator[webhook.WebhookSource]:
    engine = make_engine(lc.db_url)
    migrate(lc.db_url)
    store = CursorStore(session_factory(engine), "webhook")
    source = webhook.WebhookSource("127.0.0.1", 0, "s3cret")
    sink = KafkaSink(lc.kafka_bootstrap)
    listener = Listener(SourceState("webhook"), sink, Topics(lc.topic("mentions.raw"), lc.topic("mentions.deadletter")),
                        RulesHolder(load_rules()), lambda: datetime.now(UTC))
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(source, listener, store, lambda: datetime.now(UTC), stop))
    thread.start()
    yield source
    stop.set()
    thread.join(10)
    sink.close()


def post(source: webhook.WebhookSource, body: bytes, secret: str = "s3cret", **headers: str) -> httpx.Response:
    sent = {"Content-Type": "application/json", webhook.SIGNATURE_HEADER: webhook.sign(secret, body), **headers}
    return httpx.post(source.url, content=body, headers=sent, timeout=30)


def test_webhook_answers_after_the_ack_and_refuses_bad_requests_whole(
    lc: Settings, running_webhook: webhook.WebhookSource
) -> None:
    rows = [{"id": f"w{i}", "text": f"@SkywayAir bag {i} lost", "created_at": "2026-03-02T12:00:00Z",
             "author": "amy"} for i in range(3)]
    rows.append({"id": "w9", "text": "nothing about an airline", "created_at": "2026-03-02T12:00:00Z"})
    good = json.dumps({"mentions": rows}).encode()
    answer = post(running_webhook, good)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": 4, "sent": 3, "no_brand": 1}
    # The answer came after the ack: the records are already readable.
    got = [Mention.from_json(v) for _k, v in read_all(lc, "mentions.raw", idle_ms=500)]
    assert sorted(m.id for m in got) == ["webhook:w0", "webhook:w1", "webhook:w2"]  # 4 partitions: any order
    assert got[0].topics == ["baggage"] and got[0].source == "webhook"

    again = post(running_webhook, good)  # a retried push is not sent twice
    assert again.json() == {"accepted": 4, "duplicate": 3, "no_brand": 1}

    half_bad = json.dumps([{**rows[0], "id": "w10"}, {"id": "w11", "created_at": "2026-03-02T12:00:00Z"}]).encode()
    refused = post(running_webhook, half_bad)
    assert refused.status_code == 422 and refused.json() == {"error": "mention [1]: KeyError: missing field 'text'"}
    forged = post(running_webhook, good, secret="guess")
    assert forged.status_code == 401 and "does not match" in forged.json()["error"]
    unsigned = httpx.post(running_webhook.url, content=good, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert httpx.get(running_webhook.url.replace("/mentions", "/healthz")).json() == {"status": "ok"}
    # Nothing from the refused requests was written.
    assert len(read_all(lc, "mentions.raw", idle_ms=500)) == 3
