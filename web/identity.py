"""Handle links leave the console on the compacted `identity.links` topic so the stream enriches the
author's next mention. Key = link_key(platform, handle); an unlink is a tombstone (null value), which
compaction turns into "no link" for every consumer that replays the topic.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from stream.schema import IdentityLink, link_key


class IdentityPublisher(Protocol):
    def link(self, link: IdentityLink) -> None: ...

    def unlink(self, platform: str, handle: str) -> None: ...


class RecordingPublisher:
    """Keeps what would have been sent (key, value-or-None): for tests and for a console without Kafka."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None]] = []

    def link(self, link: IdentityLink) -> None:
        self.sent.append((link.key, link.to_json()))

    def unlink(self, platform: str, handle: str) -> None:
        self.sent.append((link_key(platform, handle), None))


class KafkaPublisher:
    """Sends synchronously: the agent's click only reports success once the broker has the link."""

    def __init__(self, bootstrap: str, topic: str, timeout: float = 10.0) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout = timeout
        self._producer: Any = None
        self._lock = threading.Lock()

    def _send(self, key: str, value: bytes | None) -> None:
        from kafka import KafkaProducer

        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(
                    bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True, linger_ms=0
                )
            producer = self._producer
        future = producer.send(self.topic, key=key.encode(), value=value)
        future.get(timeout=self.timeout)

    def link(self, link: IdentityLink) -> None:
        self._send(link.key, link.to_json())

    def unlink(self, platform: str, handle: str) -> None:
        self._send(link_key(platform, handle), None)

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close()
                self._producer = None
