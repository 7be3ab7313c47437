"""The indexer: mentions.scored -> Elasticsearch, in bulk, idempotent, committing offsets only after the write.

At-least-once: a crash between the bulk write and the offset commit replays the batch, and `_id` = mention
id makes the replay overwrite the same documents. Documents Elasticsearch refuses (a mapping conflict) go to
the dead-letter topic with its reason; throttling (429), server errors and an unreachable node are retried
with capped exponential backoff, without committing, so nothing is dropped.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout, TransportError
from elasticsearch import ApiError, Elasticsearch

from infra import logs, metrics
from infra.kafka_config import CONSUMER_DEFAULTS
from infra.settings import Settings
from stream import documents, es_admin
from stream.deadletter import dead_letter
from stream.schema import DeadLetter, SchemaError, ScoredMention

log = logging.getLogger("lc.indexer")
RETRYABLE_STATUS = {429, 500, 502, 503, 504}


@dataclass
class Record:
    """What the indexer needs of a Kafka record (kept small so the batch logic is testable without Kafka)."""

    value: bytes | None
    topic: str
    partition: int
    offset: int
    key: bytes | None = None


@dataclass
class Batch:
    actions: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # mention id -> (alias, doc)
    dead: list[DeadLetter] = field(default_factory=list)


def build_batch(records: Iterable[Record], prefix: str, now: datetime) -> Batch:
    """Decode and validate; the last version of a mention in a batch wins (same _id)."""
    batch = Batch()
    for r in records:
        if r.value is None:
            continue
        try:
            scored = ScoredMention.from_json(r.value)
        except SchemaError as exc:
            batch.dead.append(dead_letter(f"invalid scored mention: {exc}", "indexer", r.value, now,
                                          r.topic, r.partition, r.offset))
            continue
        month = documents.month_of(scored.mention.created_at)
        batch.actions[scored.mention.id] = (documents.write_alias(prefix, month), documents.to_document(scored, now))
    return batch


class Backoff:
    """Capped exponential backoff; `sleep` is injected so tests do not wait."""

    def __init__(self, base: float = 0.2, cap: float = 30.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.base, self.cap, self.sleep, self.attempt = base, cap, sleep, 0

    def wait(self) -> float:
        delay: float = min(self.cap, self.base * (2**self.attempt))
        self.attempt += 1
        self.sleep(delay)
        return delay

    def reset(self) -> None:
        self.attempt = 0


class BulkWriter:
    """Writes a batch until every document is either stored or dead-lettered."""

    def __init__(self, es: Elasticsearch, prefix: str, stop: threading.Event,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.es, self.prefix, self.stop, self.sleep = es, prefix, stop, sleep
        self._months: set[str] = set()

    def _ensure_aliases(self, aliases: Iterable[str]) -> None:
        for alias in set(aliases) - self._months:
            month = alias.rsplit("-", 1)[1]
            es_admin.ensure_month(self.es, self.prefix, month)
            self._months.add(alias)

    def write(self, batch: Batch, now: datetime) -> tuple[int, list[DeadLetter]]:
        pending = dict(batch.actions)
        dead: list[DeadLetter] = []
        written = 0
        backoff = Backoff(sleep=self.sleep)
        while pending and not self.stop.is_set():
            try:
                self._ensure_aliases(alias for alias, _ in pending.values())
                body: list[dict[str, Any]] = []
                for mid, (alias, doc) in pending.items():
                    body += [{"index": {"_index": alias, "_id": mid}}, doc]
                resp = self.es.bulk(operations=body, refresh=False)
            except (ESConnectionError, ConnectionTimeout) as exc:
                log.warning("Elasticsearch unreachable (%s); retrying in %.1fs", exc, backoff.wait())
                continue
            except (ApiError, TransportError) as exc:
                status = getattr(exc, "status_code", None) or getattr(getattr(exc, "meta", None), "status", 0)
                if status in RETRYABLE_STATUS:
                    log.warning("bulk refused with %s; retrying in %.1fs", status, backoff.wait())
                    continue
                raise
            retry: dict[str, tuple[str, dict[str, Any]]] = {}
            for item in resp["items"]:
                result = item["index"]
                mid, status = result["_id"], result["status"]
                if status < 300:
                    written += 1
                elif status in RETRYABLE_STATUS:
                    retry[mid] = pending[mid]
                else:
                    error = result.get("error", {})
                    reason = f"Elasticsearch refused the document ({status} {error.get('type')}): {error.get('reason')}"
                    dead.append(dead_letter(reason, "indexer", json.dumps(pending[mid][1]).encode(), now))
            pending = retry
            if pending:
                log.warning("%d documents throttled; retrying in %.1fs", len(pending), backoff.wait())
        return written, dead


def run(settings: Settings, stop: threading.Event, *, group: str | None = None,
        on_batch: Callable[[int], None] | None = None) -> None:
    from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
    from kafka.errors import CommitFailedError

    es = es_admin.client(settings.es_url)
    es_admin.ensure_template(es, settings.index_prefix)
    consumer = KafkaConsumer(
        settings.topic("mentions.scored"), bootstrap_servers=settings.kafka_bootstrap,
        group_id=group or settings.topic("lc-indexer"),
        enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=settings.indexer_batch_size,
        fetch_max_wait_ms=int(settings.indexer_batch_seconds * 1000), **CONSUMER_DEFAULTS,
    )
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    writer = BulkWriter(es, settings.index_prefix, stop)
    deadletter_topic = settings.topic("mentions.deadletter")
    log.info("indexer consuming %s into %s", settings.topic("mentions.scored"), settings.es_url)
    try:
        while not stop.is_set():
            polled = consumer.poll(timeout_ms=int(settings.indexer_batch_seconds * 1000),
                                   max_records=settings.indexer_batch_size)
            if not polled:
                continue
            records = [Record(r.value, r.topic, r.partition, r.offset, r.key)
                       for rs in polled.values() for r in rs]
            now = datetime.now(UTC)
            batch = build_batch(records, settings.index_prefix, now)
            started = time.perf_counter()
            written, dead = writer.write(batch, now)
            metrics.record_batch("indexer", len(records), written, [d.reason for d in batch.dead + dead],
                                 time.perf_counter() - started)
            if log.isEnabledFor(logging.DEBUG):
                for mention_id in batch.actions:
                    log.debug("indexed", extra={"mention_id": mention_id})
            if stop.is_set() and written + len(dead) < len(batch.actions):
                break  # stopped mid-retry: do not commit what was not written
            for letter in batch.dead + dead:
                producer.send(deadletter_topic, letter.to_json())
            producer.flush()
            offsets = {}
            for tp, rs in polled.items():
                offsets[TopicPartition(tp.topic, tp.partition)] = OffsetAndMetadata(rs[-1].offset + 1, "", -1)
            try:
                consumer.commit(offsets)
            except CommitFailedError as exc:  # the broker restarted or the group rebalanced: not fatal
                log.warning("offset commit refused (%s); the batch is read and written again (same _id)", exc)
                continue
            metrics.CONSUMER_LAG.labels("indexer").set(
                sum(max(0, (consumer.highwater(tp) or 0) - consumer.position(tp)) for tp in consumer.assignment()))
            if on_batch:
                on_batch(written)
    finally:
        consumer.close(autocommit=False)
        producer.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center indexer", description=__doc__)
    parser.add_argument("--group", default=None, help="consumer group (default: <topic prefix>lc-indexer)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logs.configure(settings, "indexer")
    metrics.serve(settings, "indexer")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run(settings, stop, group=args.group)
    return 0
