"""One incident of one series: opened by a significant rise (or a silence), updated, resolved, cooled down.

Plain data with the few transitions the detector applies; what an alert says about it is in alerts.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

OPEN = "open"
COOLING = "cooling"  # resolved, but a new rise within the cooldown reopens this incident


@dataclass
class Incident:
    kind: str  # spike | silence
    brand: str
    category: str | None
    start: int  # first bucket of the incident
    end: int  # last bucket that was still unusual
    detected: int  # bucket at whose close it was raised
    observed: float  # posts over start..end
    expected: float  # expected posts over start..end
    score: float  # highest -log10 p seen
    state: str = OPEN
    quiet: int = 0  # buckets in a row back to normal
    pending_observed: float = 0.0  # counts since `end`, added if the rise goes on
    pending_expected: float = 0.0
    resolved_at: int | None = None
    reopened: int = 0
    last_update: int = 0
    reported_observed: float = 0.0
    # Opened before its last bucket closed (on that bucket's count so far): the bucket whose whole count is
    # still to be accounted, and how much of it (posts, context items) the opening already took.
    early_bucket: int | None = None
    early_observed: float = 0.0
    early_items: int = 0
    sample_ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def extend(self, bucket: int, observed: float, expected: float, score: float, elevated: bool) -> None:
        """Account one more closed bucket while open: elevated buckets move the end forward."""
        self.pending_observed += observed
        self.pending_expected += expected
        if elevated:
            self.observed += self.pending_observed
            self.expected += self.pending_expected
            self.pending_observed = self.pending_expected = 0.0
            self.end = bucket
            self.quiet = 0
            self.score = max(self.score, score)
        else:
            self.quiet += 1

    def resolve(self, bucket: int) -> None:
        self.state = COOLING
        self.resolved_at = bucket
        self.pending_observed = self.pending_expected = 0.0

    def reopen(self, bucket: int) -> None:
        self.state = OPEN
        self.quiet = 0
        self.resolved_at = None
        self.reopened += 1

    def settle_early(self, observed: float, score: float, items: list[tuple[str, str]], max_texts: int,
                     max_ids: int) -> None:
        """The bucket it opened on has closed: its whole count replaces the part seen at opening."""
        self.observed += observed - self.early_observed
        self.score = max(self.score, score)
        self.add_context(items[self.early_items:], max_texts, max_ids)
        self.early_bucket, self.early_observed, self.early_items = None, 0.0, 0

    def add_context(self, items: list[tuple[str, str]], max_texts: int, max_ids: int) -> None:
        for mention_id, text in items:
            if len(self.sample_ids) < max_ids:
                self.sample_ids.append(mention_id)
            if len(self.texts) < max_texts:
                self.texts.append(text)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incident:
        return cls(**data)
