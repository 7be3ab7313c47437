"""`listening-center status`: every component's health and each consumer group's lag.

Exit code 0 when everything is healthy, 1 otherwise, so it doubles as a health check for an operator's
monitoring or a container probe.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from infra.engines.local import Paths, es_health, kafka_ready, running_pid
from infra.settings import Settings
from infra.stack import COMPONENTS

GROUPS = {"worker": "{prefix}listening-center", "indexer": "{prefix}lc-indexer", "alerter": "{prefix}lc-alerter"}


@dataclass
class Component:
    name: str
    healthy: bool
    detail: str
    lag: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def consumer_lags(settings: Settings) -> dict[str, int]:
    """Total lag (end offset - committed offset) per consumer group, over the topics it consumes."""
    from kafka import KafkaAdminClient, KafkaConsumer

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=5000)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    lags: dict[str, int] = {}
    try:
        for component, pattern in GROUPS.items():
            group = pattern.format(prefix=settings.topic_prefix)
            committed = admin.list_consumer_group_offsets(group)
            # Internal faust topics (changelogs, leader) are not part of the product's lag.
            committed = {tp: om for tp, om in committed.items() if not tp.topic.startswith(group)}
            if not committed:
                continue
            ends = consumer.end_offsets(list(committed))
            lags[component] = sum(max(0, ends[tp] - om.offset) for tp, om in committed.items() if om.offset >= 0)
    finally:
        consumer.close()
        admin.close()
    return lags


def topic_size(settings: Settings, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        ends, begins = consumer.end_offsets(tps), consumer.beginning_offsets(tps)
        return sum(ends[tp] - begins[tp] for tp in tps)
    finally:
        consumer.close()


def collect(settings: Settings) -> list[Component]:
    out: list[Component] = []
    k_ok = kafka_ready(settings.kafka_bootstrap)
    out.append(Component("kafka", k_ok, f"{settings.kafka_bootstrap} {'answers' if k_ok else 'does not answer'}"))
    es = es_health(settings.es_url)
    out.append(Component("elasticsearch", es in ("green", "yellow"), f"{settings.es_url} cluster {es or 'down'}"))
    paths = Paths.of(settings)
    lags = consumer_lags(settings) if k_ok else {}
    for name in COMPONENTS:
        pid = running_pid(paths, name)
        out.append(Component(name, pid is not None, f"pid {pid}" if pid else "not running", lag=lags.get(name)))
    if k_ok:
        dead = topic_size(settings, settings.topic("mentions.deadletter"))
        # Dead letters are expected (bad input is normal); they are reported, not counted as unhealthy.
        out.append(Component("dead-letters", True, f"{dead} messages in {settings.topic('mentions.deadletter')}"))
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center status", description=__doc__)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    components = collect(Settings.from_env())
    healthy = all(c.healthy for c in components)
    if args.json:
        print(json.dumps({"healthy": healthy, "components": [asdict(c) for c in components]}, indent=2))
    else:
        width = max(len(c.name) for c in components)
        for c in components:
            lag = f"  lag {c.lag}" if c.lag is not None else ""
            print(f"{'ok  ' if c.healthy else 'FAIL'} {c.name.ljust(width)}  {c.detail}{lag}")
        print("healthy" if healthy else "unhealthy", file=sys.stderr)
    return 0 if healthy else 1
