"""Bad input at every door, on real Kafka: malformed, binary, deeply nested and oversized messages on each
consumed topic are dead-lettered with a reason (or skipped with a logged reason), and the consumer goes on
to handle the good message that follows them."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer

from alerting.outbox import AlertRecord, ingest
from alerting.routing import Router, RoutingConfig
from infra.db import make_engine, session_factory, transaction
from infra.kafka_config import CONSUMER_DEFAULTS
from infra.settings import Settings
from listeners.rules import load_rules
from listeners.rules_store import document_of
from listeners.runner import CombinedRules, RulesHolder, watch_rules
from stream import documents, es_admin
from stream.schema import DeadLetter, IdentityLink, SchemaError, ScoredMention, SpikeAlert, format_time
from stream.scoring import Scorer
from tests.conftest import Processes, settings_env, wait_for
from tests.faults.scenario import ROUTES
from tests.integration.alert_servers import Receiver, http_receiver
from tests.integration.test_pipeline import mention

pytestmark = pytest.mark.integration

DEEP = b"[" * 50_000  # deeper than Python's recursion limit: json.loads raises RecursionError
BINARY = os.urandom(4096) + b"\x00\xff"
# Under the broker's 1 MB message limit, but its dead letter (base64, +33%) would not be.
HUGE_BINARY = b"\xff" + os.urandom(900 * 1024)
MALFORMED: dict[str, bytes] = {
    "not json": b"{this is not json",
    "binary": BINARY,
    "deep": DEEP,
    "big int": b'{"id": 1' + b"1" * 5000 + b"}",
    "wrong shape": b'["a", "list"]',
    "missing fields": b'{"id": "x:1"}',
}


def send(settings: Settings, topic: str, *records: tuple[bytes | None, bytes | None]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", max_request_size=2 * 1024**2)
    for key, value in records:
        producer.send(settings.topic(topic), value, key=key)
    producer.flush()
    producer.close()


def read_all(settings: Settings, topic: str, timeout_ms: int = 1500) -> list[bytes]:
    consumer = KafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=timeout_ms, **CONSUMER_DEFAULTS)
    try:
        return [r.value for r in consumer if r.value is not None]
    finally:
        consumer.close()


def dead_letters(settings: Settings, stage: str) -> list[DeadLetter]:
    return [d for d in map(DeadLetter.from_json, read_all(settings, "mentions.deadletter")) if d.stage == stage]


def scored(settings: Settings) -> dict[str, ScoredMention]:
    found = {}
    for value in read_all(settings, "mentions.scored"):
        with contextlib.suppress(SchemaError):  # the garbage this test put there itself
            s = ScoredMention.from_json(value)
            found[s.mention.id] = s
    return found


def indexed_ids(settings: Settings) -> set[str]:
    es = es_admin.client(settings.es_url)
    alias = documents.read_alias(settings.index_prefix)
    if not es.indices.exists_alias(name=alias):
        return set()
    es.indices.refresh(index=alias)
    return {h["_id"] for h in es.search(index=alias, size=100, source=False)["hits"]["hits"]}


@pytest.mark.timeout(300)
def test_worker_dead_letters_every_bad_raw_message_and_ignores_bad_links(lc: Settings, processes: Processes) -> None:
    link = IdentityLink(platform="test", handle="goldflyer", loyalty_id="RR1", tier="gold",
                        linked_at=format_time(datetime.now(UTC)), verified=True)
    send(lc, "identity.links", (b"test:x", b"{not json"), (b"test:y", BINARY),
         (b"test:z", DEEP), (link.key.encode(), link.to_json()))
    oversized = mention("x " * 40_000).to_json()  # 80 kB: more than a post can be
    bad = [*MALFORMED.values(), oversized]
    send(lc, "mentions.raw", (b"null-value", None), *[(b"bad", v) for v in bad])
    # The spike agent reads mentions.scored too: garbage there must not stop it (nor the scoring agent).
    send(lc, "mentions.scored", *[(b"skyway", v) for v in MALFORMED.values()])
    first = mention("@SkywayAir flight cancelled, no help at the desk")
    send(lc, "mentions.raw", (first.id.encode(), first.to_json()))
    processes.start("worker", "worker")

    wait_for(lambda: first.id in scored(lc), timeout=120, what="the good mention after the bad ones scored")
    letters = wait_for(lambda: (d := dead_letters(lc, "worker")) and len(d) >= len(bad) + 1 and d, timeout=30,
                       what="a dead letter for each bad raw message")
    reasons = [d.reason for d in letters]
    assert len(letters) == len(bad) + 1, reasons
    assert any("null value" in r for r in reasons) and any("nested too deeply" in r for r in reasons), reasons
    assert any("more than" in r for r in reasons), reasons
    assert all(d.source_topic == lc.topic("mentions.raw") and d.source_offset is not None for d in letters)
    binary = next(d for d in letters if d.original_encoding == "base64")
    assert binary.reason.startswith("not valid JSON")

    def enriched() -> bool:
        nxt = mention("@SkywayAir where is my bag", author_handle="GoldFlyer")
        send(lc, "mentions.raw", (nxt.id.encode(), nxt.to_json()))
        got = wait_for(lambda: scored(lc).get(nxt.id), timeout=60, what="the next mention scored")
        return bool(got.linked and got.tier == "gold")

    # The identity reader skipped the bad links (logged) and applied the good one after them.
    wait_for(enriched, timeout=90, interval=0.5, what="a mention enriched past the bad identity links")
    assert "Traceback" not in processes.log("worker"), processes.log("worker")[-3000:]


@pytest.mark.timeout(300)
def test_indexer_dead_letters_bad_scored_messages_even_huge_ones(lc: Settings, processes: Processes) -> None:
    good = ScoredMention.from_json(json.dumps({
        "mention": mention("@SkywayAir thanks for the upgrade").to_dict(), "sentiment": {
            "label": "positive", "compound": 0.6, "vader_compound": 0.6, "uncertain": False},
        "lexicon_version": "t", "scored_at": format_time(datetime.now(UTC)), "categories": [], "intent": "praise",
        "priority": {"score": 1.0, "reasons": []}, "linked": False, "tier": None}).encode())
    judged = Scorer().score(good.mention.text)
    good = dataclasses.replace(good, sentiment=judged.sentiment, priority=judged.priority)
    bad = [*MALFORMED.values(), HUGE_BINARY]
    send(lc, "mentions.scored", (b"skyway", None), *[(b"skyway", v) for v in bad],
         (b"skyway", good.to_json()))
    processes.start("indexer", "indexer")

    wait_for(lambda: good.mention.id in indexed_ids(lc), timeout=120, what="the good scored mention indexed")
    letters = wait_for(lambda: (d := dead_letters(lc, "indexer")) and len(d) >= len(bad) and d, timeout=30,
                       what="a dead letter for each bad scored message")
    assert len(letters) == len(bad), [d.reason for d in letters]
    assert all(d.reason.startswith("invalid scored mention") for d in letters)
    huge = max(letters, key=lambda d: len(d.original))
    assert "truncated" in huge.reason and len(huge.to_json()) < 1024**2  # fits the dead-letter topic
    assert indexed_ids(lc) == {good.mention.id}


def alert(key: str = "skyway|cancellations") -> SpikeAlert:
    now = format_time(datetime.now(UTC))
    return SpikeAlert(dedupe_key=key, kind="spike", brand="skyway", window_start=now, window_end=now, observed=40,
                      expected=4, score=9.0, detected_at=now, category="cancellations")


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    r = Receiver(secret="bad-input-hook")
    with http_receiver(r) as url:
        yield r, url


@pytest.mark.timeout(180)
def test_alerter_records_bad_alerts_as_rejected_and_delivers_the_good_one(
    lc: Settings, processes: Processes, receiver: tuple[Receiver, str], tmp_path: Path
) -> None:
    rec, url = receiver
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    settings = dataclasses.replace(lc, alert_routes=str(routes), alert_webhook_url=url,
                                   alert_webhook_secret="bad-input-hook")
    bad = [*MALFORMED.values(), HUGE_BINARY, b'{"dedupe_key": "k", "kind": "meteor"}']
    send(lc, "alerts.spikes", (b"k", None), *[(b"k", v) for v in bad], (b"good", alert().to_json()))
    processes.start("alerter", "alerter", env=settings_env(settings))

    wait_for(lambda: rec.accepted, timeout=90, what="the good alert delivered")
    assert rec.accepted[0].json()["alert"]["dedupe_key"] == "skyway|cancellations"
    engine = sa.create_engine(settings.db_url)
    with engine.connect() as c:
        notes = list(c.scalars(sa.select(AlertRecord.note).order_by(AlertRecord.source_offset)))
    engine.dispose()
    assert len(notes) == len(bad) + 2
    assert sum(n.startswith("rejected:") for n in notes) == len(bad) + 1, notes  # the null value too
    assert len(rec.accepted) == 1


def test_outbox_keeps_a_rejected_alert_with_nul_bytes(db_url: str) -> None:
    """PostgreSQL text cannot hold NUL: a binary alert must still be recorded (as rejected), not crash."""
    factory = session_factory(make_engine(db_url))
    router = Router(RoutingConfig.load(None), available=frozenset({"webhook"}))
    now = datetime.now(UTC)
    with transaction(factory) as s:
        row = ingest(s, router, b"\x00\xff{bad\x00", "alerts.spikes", 0, 1, now)
        assert row is not None and row.note.startswith("rejected:")
    with transaction(factory) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AlertRecord)) == 1


def test_listener_skips_unreadable_rule_sets_and_loads_the_next_good_one(
    lc: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    good = document_of(load_rules()).encode()
    send(lc, "listen.rules", (b"bad-json", b"{nope"), (b"binary", BINARY), (b"deep", DEEP),
         (b"not-rules", b'{"brands": "skyway"}'), (b"huge", b'{"brands": [' + b'{"name": "x"},' * 50_000 + b"{}]}"),
         (b"good", good))
    holder = RulesHolder(None)
    stop = threading.Event()
    with caplog.at_level(logging.WARNING, logger="listeners.runner"):
        thread = threading.Thread(target=watch_rules, args=(lc, holder, stop), kwargs={"poll_seconds": 0.2})
        thread.start()
        try:
            wait_for(lambda: holder.current is not None, timeout=30, what="the good rule set loaded")
        finally:
            stop.set()
            thread.join(10)
    assert not thread.is_alive()
    skipped = [r.getMessage() for r in caplog.records if "ignoring unreadable rule set" in r.getMessage()]
    assert len(skipped) == 5, skipped  # each bad record named in the log; the good one loads
    assert isinstance(holder.current, CombinedRules)  # the good sets, combined
