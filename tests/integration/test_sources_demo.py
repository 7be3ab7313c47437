"""The demo listener against the real Kafka: every post acknowledged, and rules reloaded live from listen.rules."""

from __future__ import annotations

import json

import pytest
from kafka import KafkaConsumer, KafkaProducer

from infra.settings import Settings
from listeners.rules import load_rules
from stream.schema import Mention
from tests.conftest import Processes, settings_env, wait_for
from tests.integration.follow import follow, later_on

pytestmark = pytest.mark.integration

# 20 minutes of the incident scenario at 30 posts a minute, all at once.
DEMO = ("listen", "demo", "--fast", "--scenario", "incident", "--seed", "5", "--rate", "0.5", "--duration", "20",
        "--start", "2026-03-02T12:00:00+00:00", "--no-live-rules")


def read_all(settings: Settings, topic: str, idle_ms: int = 1500) -> list[tuple[bytes | None, bytes]]:
    consumer = KafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=idle_ms, group_id=None)
    try:
        return [(r.key, r.value) for r in consumer]
    finally:
        consumer.close()


def test_demo_scenario_lands_on_mentions_raw_keyed_by_id(lc: Settings, processes: Processes) -> None:
    proc = processes.start("listen", *DEMO)
    assert proc.wait(60) == 0, processes.log("listen")
    summary = json.loads(processes.log("listen").strip().splitlines()[-1])
    records = read_all(lc, "mentions.raw")
    assert len(records) == summary["sent"] > 50
    mentions = [Mention.from_json(v) for _k, v in records]
    assert [k.decode() for k, _v in records if k] == [m.id for m in mentions]
    assert {m.brand for m in mentions} >= {"skyway", "northwind"}
    assert all(m.matched_rules for m in mentions)
    assert summary["dropped"] > 0  # the off-topic "skyway bridge" posts never reach Kafka

    # Same seed and start: the same ids, so a replayed demo is idempotent downstream.
    again = processes.start("again", *DEMO)
    assert again.wait(60) == 0
    ids = [k for k, _v in read_all(lc, "mentions.raw")]
    assert len(set(ids)) == len(records)


def test_a_published_rule_set_reaches_the_running_listener(lc: Settings, processes: Processes) -> None:
    processes.start("listen", "listen", "demo", "--rate", "40", env=settings_env(lc))
    stream = follow(lc, "mentions.raw")
    _partition, first = next(stream)
    assert "skyway-live" not in first.matched_rules

    rules = load_rules().to_dict()
    for brand in rules["brands"]:
        if brand["name"] == "skyway":
            brand["rules"] = [{"id": "skyway-live", "query": "@SkywayAir OR \"Skyway Airlines\""}]
            brand["competitors"] = []  # competitors are no longer followed
    producer = KafkaProducer(bootstrap_servers=lc.kafka_bootstrap, acks="all")
    producer.send(lc.topic("listen.rules"), key=b"default", value=json.dumps(rules).encode()).get(10)
    producer.close()

    live_partition, seen_live = wait_for(
        lambda: next((p, m) for p, m in stream if "skyway-live" in m.matched_rules), timeout=30,
        what="a mention matched by the published rule")
    assert seen_live.brand == "skyway"
    assert not any(m.competitor for m in later_on(stream, live_partition))
