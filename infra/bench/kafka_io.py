"""Thin Kafka I/O for the bench: a paced producer, a consumer that notes when each mention arrives, and
committed-offset polling. Times are `time.perf_counter()` in this one process, so they compare exactly.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

# The listeners' producer settings (listeners/producer.py), so the bench produces as the product does.
PRODUCER_CONFIG: dict[str, Any] = {"acks": "all", "enable_idempotence": True, "linger_ms": 20}

Message = tuple[str, bytes]  # (mention id, value); the id is also the key, as the listeners key raw mentions


def producer(bootstrap: str) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_CONFIG)


def due_time(start: float, index: int, per_second: float) -> float:
    """When message `index` is due at a fixed rate: on a schedule, so a slow send is caught up, not lost."""
    return start + index / per_second


def send_paced(prod: KafkaProducer, topic: str, messages: Sequence[Message], per_second: float | None,
               sent: dict[str, float], on_sent: Callable[[int], None] | None = None,
               stop: threading.Event | None = None) -> float:
    """Send at `per_second` (None: as fast as the producer takes them); returns the seconds it took."""
    start = time.perf_counter()
    for i, (mid, value) in enumerate(messages):
        if stop is not None and stop.is_set():
            break
        if per_second:
            wait = due_time(start, i, per_second) - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        sent[mid] = time.perf_counter()
        prod.send(topic, value, key=mid.encode())
        if on_sent and i % 100 == 99:
            on_sent(100)
    prod.flush()
    return time.perf_counter() - start


def key_id(key: bytes | None, _value: bytes | None) -> str | None:
    return key.decode() if key else None


def scored_id(_key: bytes | None, value: bytes | None) -> str | None:
    """The mention id inside a ScoredMention (its key is the brand)."""
    if not value:
        return None
    try:
        mid = json.loads(value)["mention"]["id"]
    except (ValueError, KeyError, TypeError):
        return None
    return mid if isinstance(mid, str) else None


class Arrivals:
    """Reads every partition of a topic from the beginning (no group) and notes each id's first arrival.

    The time is taken once per poll, before decoding: records of one fetch arrived together.
    """

    def __init__(self, bootstrap: str, topic: str, ident: Callable[[bytes | None, bytes | None], str | None]) -> None:
        self.topic, self.ident = topic, ident
        self.seen: dict[str, float] = {}
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                       auto_offset_reset="earliest", fetch_max_wait_ms=100)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"arrivals-{topic}", daemon=True)
        self.error: BaseException | None = None

    def start(self, timeout: float = 30.0) -> Arrivals:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"could not read {self.topic} within {timeout:.0f}s")
        return self

    def _assign(self) -> None:
        deadline = time.monotonic() + 30
        parts = self._consumer.partitions_for_topic(self.topic)
        while not parts and time.monotonic() < deadline:
            time.sleep(0.2)
            parts = self._consumer.partitions_for_topic(self.topic)
        self._consumer.assign([TopicPartition(self.topic, p) for p in sorted(parts or {0})])
        self._consumer.seek_to_beginning()

    def _run(self) -> None:
        try:
            self._assign()
            self._ready.set()
            while not self._stop.is_set():
                polled = self._consumer.poll(timeout_ms=100)
                now = time.perf_counter()
                for records in polled.values():
                    for r in records:
                        mid = self.ident(r.key, r.value)
                        if mid is not None and mid not in self.seen:
                            self.seen[mid] = now
        except BaseException as exc:  # reported by the phase that waits on it
            self.error = exc
            self._ready.set()
        finally:
            self._consumer.close(autocommit=False)

    def wait_for(self, ids: Iterable[str], timeout: float, on_progress: Callable[[int], None] | None = None) -> int:
        """Wait until every id arrived (or the timeout); returns how many are still missing."""
        wanted = set(ids)
        deadline = time.monotonic() + timeout
        reported = 0
        while time.monotonic() < deadline and self.error is None:
            missing = sum(1 for i in wanted if i not in self.seen)
            if on_progress:
                on_progress(len(wanted) - missing - reported)
                reported = len(wanted) - missing
            if not missing:
                return 0
            time.sleep(0.1)
        if self.error is not None:
            raise RuntimeError(f"reading {self.topic} failed: {self.error}") from self.error
        return sum(1 for i in wanted if i not in self.seen)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)


def latencies(sent: dict[str, float], seen: dict[str, float], ids: Iterable[str]) -> list[float]:
    return [seen[i] - sent[i] for i in ids if i in seen and i in sent]


def span(sent: dict[str, float], seen: dict[str, float], ids: Sequence[str]) -> float:
    """From the first send to the last arrival of `ids`: the time a burst took through a stage."""
    arrived = [seen[i] for i in ids if i in seen]
    if not arrived:
        return 0.0
    return max(arrived) - min(sent[i] for i in ids)


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()


class GroupOffsets:
    """Offsets a consumer group committed on a topic, summed over partitions (0 before its first commit)."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.group, self.topic = group, topic
        self._admin = KafkaAdminClient(bootstrap_servers=bootstrap)

    def committed(self) -> int:
        offsets = self._admin.list_consumer_group_offsets(self.group)
        return sum(o.offset for tp, o in offsets.items() if tp.topic == self.topic and o.offset >= 0)

    def close(self) -> None:
        self._admin.close()


def end_total(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or {0})]
        return sum(consumer.end_offsets(parts).values())
    finally:
        consumer.close()


def group_state(bootstrap: str, group: str) -> tuple[str, int]:
    """A consumer group's state (Stable, PreparingRebalance, ...) and how many members it has."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        (info,) = admin.describe_consumer_groups([group])
        return str(info.state), len(info.members)
    finally:
        admin.close()
