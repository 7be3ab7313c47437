"""What every source hands the runner: batches of normalised items, each batch with the cursor it completes.

A source never talks to Kafka or the database. It yields a `Batch`; the runner sends the batch's
mentions, waits for Kafka's acknowledgement, and only then stores `Batch.cursors`, so a crash between
the two repeats a batch (deduplicated downstream by mention id) rather than skipping one.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from stream.schema import Mention


class SourceOff(RuntimeError):
    """The source is not configured (no credentials or URLs); the message says which setting is missing."""


@dataclass
class Item:
    """One platform post: a normalised mention, or why it could not be one (for the dead-letter topic).

    A mention may already carry a brand the source knows (the demo generator's truth, a webhook caller's
    field); the runner keeps it only when it runs without rules.
    """

    mention: Mention | None
    original: str  # the platform's payload as text, kept for dead letters
    error: str | None = None

    @classmethod
    def bad(cls, payload: Any, reason: str) -> Item:
        return cls(None, _as_text(payload), reason)


@dataclass
class Batch:
    items: list[Item]
    cursors: dict[str, str] = field(default_factory=dict)  # cursor key -> value, stored after Kafka acked
    quota_left: int | None = None  # the platform's remaining request budget, when it says
    # Called once the batch is acknowledged (None) or could not be (the error), with each item's outcome
    # (sent | dead | no-brand | duplicate): how a push source (the webhook) answers its caller.
    on_done: Callable[[Exception | None, list[str]], None] | None = None


@dataclass
class SourceState:
    """What `listening-center status` shows for a listener."""

    source: str
    status: str = "starting"  # starting | running | backoff | off | stopped
    last_post_at: str | None = None
    last_error: str | None = None
    items: int = 0  # sent to mentions.raw
    dead: int = 0  # sent to mentions.deadletter
    dropped: int = 0  # matched no brand, or duplicate
    quota_left: int | None = None


class Source(Protocol):
    name: str

    def batches(self, cursors: dict[str, str]) -> Iterator[Batch]:
        """Batches from where `cursors` (as last stored) left off; ends when the source is exhausted."""
        ...


def _as_text(payload: Any) -> str:
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    if isinstance(payload, str):
        return payload
    try:
        return json.dumps(payload, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(payload)


def normalise(convert: Callable[[Any], Mention], payload: Any) -> Item:
    """Run a platform converter; anything it cannot read becomes a dead-letter item with the reason."""
    try:
        mention = convert(payload)
        # Round-trip through the contract so a listener never emits what the stream would reject.
        mention = Mention.from_dict(mention.to_dict())
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        return Item.bad(payload, f"{type(exc).__name__}: {reason}")
    return Item(mention, _as_text(payload))


@dataclass
class Backoff:
    """Exponential backoff with full jitter; a server's Retry-After wins when it asks for longer."""

    base: float = 1.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        self.failures += 1
        delay = self.rng.uniform(0, min(self.cap, self.base * 2 ** (self.failures - 1)))
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def reset(self) -> None:
        self.failures = 0


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After is either seconds or an HTTP date (RFC 9110); anything else is ignored."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def idle(seconds: float, sleep: Callable[[float], None], tick: float = 1.0) -> Iterator[Batch]:
    """Wait between polls in short ticks, yielding empty batches so the runner can see its stop flag."""
    waited = 0.0
    while waited < seconds:
        step = min(tick, seconds - waited)
        sleep(step)
        waited += step
        yield Batch([])
