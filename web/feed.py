"""The live feed: scored mentions from Kafka, fanned out to every open console by server-sent events.

`FeedHub` is pure in-process state (a bounded recent buffer and one bounded queue per subscriber) so it is
tested without Kafka; `FeedConsumer` is the thin thread that decodes `mentions.scored` and calls
`hub.publish`. Queue-state changes (taken, replied, ...) travel the same way as `state` events so every
agent sees at once what another agent did.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from infra.kafka_config import CONSUMER_DEFAULTS
from stream.schema import SchemaError, ScoredMention

log = logging.getLogger(__name__)

RECENT_CAPACITY = 300  # what a console that connects now gets first: enough to fill a screen and more
SUBSCRIBER_CAPACITY = 2000  # a browser this far behind is gone or stuck; it is dropped and reconnects
HEARTBEAT_SECONDS = 15.0  # keeps proxies from closing an idle stream and notices dead clients


@dataclass(frozen=True)
class FeedEvent:
    seq: int
    kind: str  # mention | state
    data: str  # JSON text

    def to_sse(self) -> str:
        return f"id: {self.seq}\nevent: {self.kind}\ndata: {self.data}\n\n"


class Subscription:
    def __init__(self, hub: FeedHub) -> None:
        self._hub = hub
        self.queue: queue.Queue[FeedEvent | None] = queue.Queue(SUBSCRIBER_CAPACITY)
        self.dropped = False

    def get(self, timeout: float) -> FeedEvent | None:
        """The next event, or None after `timeout` seconds without one (time for a heartbeat)."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._hub.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FeedHub:
    def __init__(self, capacity: int = RECENT_CAPACITY) -> None:
        self._lock = threading.Lock()
        self._recent: deque[ScoredMention] = deque(maxlen=capacity)
        self._subscribers: set[Subscription] = set()
        self._seq = 0
        self.published = 0
        # Called with each scored mention before fan-out (e.g. verification codes); errors are logged.
        self.listeners: list[Callable[[ScoredMention], None]] = []

    def publish(self, scored: ScoredMention) -> None:
        """Called by the consumer thread for each scored mention; never blocks on a slow browser."""
        with self._lock:
            self._recent.append(scored)
            self.published += 1
        for listener in self.listeners:
            try:
                listener(scored)
            except Exception:  # one failing hook must not stop the feed
                log.exception("feed listener failed")
        self._fan_out("mention", scored.to_json().decode())

    def publish_state(self, state: dict[str, Any]) -> None:
        self._fan_out("state", json.dumps(state, separators=(",", ":")))

    def _fan_out(self, kind: str, data: str) -> None:
        with self._lock:
            self._seq += 1
            event = FeedEvent(self._seq, kind, data)
            subscribers = list(self._subscribers)
        for sub in subscribers:
            try:
                sub.queue.put_nowait(event)
            except queue.Full:
                # A stuck client must not hold memory or slow the others: drop it; its browser reconnects.
                sub.dropped = True
                self.unsubscribe(sub)

    def find(self, mention_id: str) -> ScoredMention | None:
        with self._lock:
            for scored in self._recent:
                if scored.mention.id == mention_id:
                    return scored
        return None

    def recent(self) -> list[ScoredMention]:
        """Newest first."""
        with self._lock:
            return list(reversed(self._recent))

    def subscribe(self) -> Subscription:
        sub = Subscription(self)
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)


def sse_stream(
    hub: FeedHub,
    initial_states: dict[str, dict[str, Any]] | None = None,
    heartbeat: float = HEARTBEAT_SECONDS,
    max_events: int | None = None,
    max_idle: int | None = None,
) -> Iterator[str]:
    """The text of one browser's event stream: the recent buffer (oldest first, so the client's ordering
    code sees them in arrival order), their known states, then live events until the client goes away.

    `max_events` (backlog included) and `max_idle` (heartbeats in a row) end the stream: for tests."""
    sub = hub.subscribe()  # subscribe before reading the buffer so nothing falls between the two
    backlog = [FeedEvent(0, "mention", s.to_json().decode()) for s in reversed(hub.recent())]
    backlog += [FeedEvent(0, "state", json.dumps(st, separators=(",", ":"))) for st in (initial_states or {}).values()]
    sent = idle = 0
    try:
        yield "retry: 3000\n\n"
        for past in backlog:
            yield past.to_sse()
            sent += 1
            if max_events is not None and sent >= max_events:
                return
        while not sub.dropped:
            event = sub.get(timeout=heartbeat)
            if event is None:
                idle += 1
                if max_idle is not None and idle >= max_idle:
                    return
                yield ": keep-alive\n\n"
                continue
            idle = 0
            yield event.to_sse()
            sent += 1
            if max_events is not None and sent >= max_events:
                return
    finally:
        sub.close()


class FeedConsumer(threading.Thread):
    """Reads `mentions.scored` from the end (minus a screenful, so a fresh console is not empty) without a
    consumer group: every web process shows every mention and commits nothing."""

    def __init__(self, hub: FeedHub, bootstrap: str, topic: str, backfill: int = RECENT_CAPACITY) -> None:
        super().__init__(name="feed-consumer", daemon=True)
        self.hub = hub
        self.bootstrap = bootstrap
        self.topic = topic
        self.backfill = backfill
        self._stop_event = threading.Event()
        self.ready = threading.Event()
        self.errors = 0

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self._consume()
            except Exception:  # a broker restart must not kill the console's feed: retry
                self.errors += 1
                log.exception("feed consumer failed; retrying")
                self._stop_event.wait(2.0)

    def _consume(self) -> None:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            client_id="lc-web-feed",
            **CONSUMER_DEFAULTS,
        )
        try:
            partitions: set[int] | None = None
            while not self._stop_event.is_set():
                partitions = consumer.partitions_for_topic(self.topic)
                if partitions:
                    break
                self._stop_event.wait(1.0)
            if not partitions:
                return
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            ends = consumer.end_offsets(tps)
            begins = consumer.beginning_offsets(tps)
            per_partition = max(1, self.backfill // len(tps))
            for tp in tps:
                consumer.seek(tp, max(begins[tp], ends[tp] - per_partition))
            self.ready.set()
            while not self._stop_event.is_set():
                batches = consumer.poll(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        self._deliver(record.value)
        finally:
            consumer.close()

    def _deliver(self, raw: bytes | None) -> None:
        if raw is None:
            return
        try:
            scored = ScoredMention.from_json(raw)
        except SchemaError as exc:
            # The stream already dead-letters bad input; the console only skips what it cannot show.
            log.warning("feed: skipping a message that is not a ScoredMention: %s", exc)
            return
        self.hub.publish(scored)
