"""Reading what a running listener emits, in the only order Kafka promises: per partition."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from kafka import KafkaConsumer

from infra.settings import Settings
from stream.schema import Mention


def follow(settings: Settings, topic: str = "mentions.raw", idle_ms: int = 30_000) -> Iterator[tuple[int, Mention]]:
    """(partition, mention) as they arrive, from the start of the topic."""
    consumer = KafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=idle_ms, group_id=None)
    try:
        for record in consumer:
            yield record.partition, Mention.from_json(record.value)
    finally:
        consumer.close()


def later_on(stream: Iterator[tuple[int, Mention]], partition: int, count: int = 20,
             scan: int = 400) -> list[Mention]:
    """Up to `count` mentions that follow on `partition`. Only these are surely newer than the one
    just seen there: other partitions may still deliver posts sent before a change took effect."""
    later = [m for p, m in itertools.islice(stream, scan) if p == partition][:count]
    assert len(later) >= 5, f"only {len(later)} later mentions on partition {partition}"
    return later
