"""Sending to Kafka: idempotent, fully acknowledged, keyed by mention id.

`flush()` returns only when every record sent since the last flush is acknowledged by all in-sync
replicas, and raises `DeliveryError` if any was not: the runner stores a source cursor only after a
clean flush. `MemorySink` has the same interface for unit tests of the runner's logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError


class DeliveryError(RuntimeError):
    """Kafka did not acknowledge some records; nothing after them may be treated as sent."""


class Sink(Protocol):
    def send(self, topic: str, key: str | None, value: bytes) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class KafkaSink:
    def __init__(self, bootstrap: str, client_id: str = "listener", flush_timeout: float = 30.0,
                 **config: Any) -> None:
        self.flush_timeout = flush_timeout
        self._pending: list[Any] = []
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,  # retries cannot duplicate or reorder within a partition
            linger_ms=20,  # small batches: a listener's volume is modest and latency matters
            max_block_ms=15_000,  # a missing topic or broker fails the listener visibly, not after a minute
            **config,
        )

    def send(self, topic: str, key: str | None, value: bytes) -> None:
        encoded = key.encode() if key is not None else None
        self._pending.append(self._producer.send(topic, key=encoded, value=value))

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        try:
            self._producer.flush(timeout=self.flush_timeout)
        except KafkaError as exc:
            raise DeliveryError(f"flush failed: {exc}") from exc
        failed = [f.exception for f in pending if not f.is_done or f.failed()]
        if failed:
            raise DeliveryError(f"{len(failed)} of {len(pending)} records not acknowledged: {failed[0]}")

    def close(self) -> None:
        self._producer.close(timeout=self.flush_timeout)


@dataclass
class MemorySink:
    """Records what was sent and what was acknowledged; `fail_next_flush` simulates a broker outage."""

    sent: list[tuple[str, str | None, bytes]] = field(default_factory=list)
    acked: list[tuple[str, str | None, bytes]] = field(default_factory=list)
    fail_next_flush: bool = False
    closed: bool = False

    def send(self, topic: str, key: str | None, value: bytes) -> None:
        self.sent.append((topic, key, value))

    def flush(self) -> None:
        pending = self.sent[len(self.acked):]
        if self.fail_next_flush:
            self.fail_next_flush = False
            del self.sent[len(self.acked):]
            raise DeliveryError(f"{len(pending)} records not acknowledged: simulated outage")
        self.acked.extend(pending)

    def close(self) -> None:
        self.closed = True
