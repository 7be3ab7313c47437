"""The per-mention step of the stream, as one plain function: validate, score, enrich.

The faust agent only decodes, calls this, and sends what it returns, so every rule here is tested
without Kafka.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from stream.deadletter import dead_letter
from stream.identity import IdentityTable
from stream.schema import DeadLetter, Mention, SchemaError, ScoredMention, format_time
from stream.scoring import Scorer

MAX_RAW_BYTES = 64 * 1024  # a mention is a post: anything bigger is broken or hostile


class RepeatCounter:
    """Complaints per author, bounded (least recently seen authors are forgotten first)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._counts: OrderedDict[str, int] = OrderedDict()

    def count(self, author: str) -> int:
        return self._counts.get(author, 0)

    def add(self, author: str) -> None:
        self._counts[author] = self._counts.pop(author, 0) + 1
        if len(self._counts) > self.capacity:
            self._counts.popitem(last=False)


@dataclass
class Step:
    scorer: Scorer
    identities: IdentityTable
    clock: Callable[[], datetime]
    repeats: RepeatCounter

    def __call__(self, raw: bytes | None, topic: str, partition: int, offset: int) -> ScoredMention | DeadLetter:
        now = self.clock()
        if raw is None:
            return dead_letter("empty message (null value)", "worker", b"", now, topic, partition, offset)
        if len(raw) > MAX_RAW_BYTES:
            return dead_letter(f"message of {len(raw)} bytes, more than {MAX_RAW_BYTES}", "worker",
                               raw[:MAX_RAW_BYTES], now, topic, partition, offset)
        try:
            mention = Mention.from_json(raw)
        except SchemaError as exc:
            return dead_letter(str(exc), "worker", raw, now, topic, partition, offset)
        link = self.identities.lookup(mention.platform, mention.author_handle)
        author_key = f"{mention.platform}:{mention.author_handle.lower()}"
        try:
            judgement = self.scorer.score(
                mention.text,
                followers=mention.author_followers,
                linked=link is not None,
                tier=link.tier if link else None,
                repeat_complaints=self.repeats.count(author_key),
            )
        except Exception as exc:  # a scorer bug met by one hostile text must not stop the stream
            return dead_letter(f"scoring failed: {type(exc).__name__}: {exc}", "worker", raw, now, topic,
                               partition, offset)
        if judgement.intent == "complaint":
            self.repeats.add(author_key)
        return ScoredMention(
            mention=mention,
            sentiment=judgement.sentiment,
            lexicon_version=judgement.lexicon_version,
            scored_at=format_time(now),
            categories=list(judgement.categories),
            intent=judgement.intent,
            priority=judgement.priority,
            linked=link is not None,
            tier=link.tier if link else None,
        )
