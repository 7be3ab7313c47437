"""Priority: one explainable 0..100 score that orders the care queue.

Every part that adds points says so in a short sentence ending with its points, so the console can show
why a mention ranks where it does. Weights are plain constants here: they are policy, reviewed in code.
"""

from __future__ import annotations

import math
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from stream.schema import Priority
from stream.scoring.lexicon import CareLexicon

NEGATIVITY_MAX = 30  # at compound -1.0
INTENT_POINTS = {"complaint": 15, "question": 10, "praise": 0, "other": 0}
URGENCY_MAX = 25
REACH_MAX = 15  # points per tenfold followers above REACH_FROM, up to this
REACH_FROM = 1_000
REACH_PER_DECADE = 5
LINKED_POINTS = 5
TIER_POINTS = {
    "basic": 0, "member": 0, "silver": 3, "gold": 6, "platinum": 9, "diamond": 10,
    "a-list": 6, "a-list preferred": 10, "companion": 8, "elite": 6,
}  # fmt: skip
UNKNOWN_TIER_POINTS = 3  # a tier we do not know is still a tier
REPEAT_POINTS = 4
REPEAT_MAX = 12
WAIT_POINTS_PER_MINUTES = 4  # one point per 4 minutes already waited ...
WAIT_MAX = 15  # ... up to an hour


@dataclass(slots=True)
class PriorityInputs:
    compound: float
    intent: str
    words: tuple[str, ...]  # tokens of the lowercased text
    word_set: frozenset[str] | None = None  # the same, as a set, when at hand
    followers: int | None = None
    linked: bool = False
    tier: str | None = None
    repeat_complaints: int = 0
    waited_seconds: float = 0.0
    urgency_hits: AbstractSet[int] | None = None  # `lexicon.urgency_terms` matched on `words`, when done already


def _points(n: float) -> str:
    return f"+{n:g} point" + ("" if n == 1 else "s")


# Most mentions earn points for their intent alone: its sentence is written once, not per mention.
_INTENT_REASONS = {intent: f"Intent is {intent}: {_points(p)}." for intent, p in INTENT_POINTS.items() if p > 0}


def _add(reasons: list[str], points: float, why: str) -> float:
    """The points a part adds, explained in `reasons` when there are any."""
    if points > 0:
        reasons.append(f"{why}: {_points(points)}.")
        return points
    return 0


def prioritise(inputs: PriorityInputs, lexicon: CareLexicon) -> Priority:
    reasons: list[str] = []
    total = 0.0
    if inputs.compound < 0:
        total += _add(
            reasons, round(NEGATIVITY_MAX * -inputs.compound), f"Negative sentiment (compound {inputs.compound:.2f})"
        )
    intent_reason = _INTENT_REASONS.get(inputs.intent)
    if intent_reason is not None:
        total += INTENT_POINTS[inputs.intent]
        reasons.append(intent_reason)
    hits = inputs.urgency_hits
    if hits is None:
        hits = lexicon.urgency_terms.match(inputs.words, inputs.word_set)
    urgent = 0
    for i in sorted(hits) if hits else ():  # the rules that matched, in the data file's order; most mentions have none
        if urgent >= URGENCY_MAX:
            break
        points = min(lexicon.urgency[i].points, URGENCY_MAX - urgent)
        urgent += points
        total += _add(reasons, points, f"Urgent: {lexicon.urgency[i].reason}")
    if inputs.followers is not None and inputs.followers > REACH_FROM:
        decades = math.log10(inputs.followers / REACH_FROM)
        reach = min(REACH_MAX, round(REACH_PER_DECADE * decades))
        total += _add(reasons, reach, f"Reach: {inputs.followers:,} followers")
    if inputs.linked:
        total += _add(reasons, LINKED_POINTS, "Linked loyalty member")
        if inputs.tier:
            tier_points = TIER_POINTS.get(inputs.tier.strip().lower(), UNKNOWN_TIER_POINTS)
            total += _add(reasons, tier_points, f"Loyalty tier {inputs.tier}")
    if inputs.repeat_complaints > 0:
        total += _add(
            reasons,
            min(REPEAT_MAX, REPEAT_POINTS * inputs.repeat_complaints),
            f"{inputs.repeat_complaints} earlier complaint(s) from this author",
        )
    if inputs.waited_seconds >= 60:
        minutes = inputs.waited_seconds / 60
        waited = min(WAIT_MAX, math.floor(minutes / WAIT_POINTS_PER_MINUTES))
        total += _add(reasons, waited, f"Waited {minutes:.0f} min")
    return Priority(score=float(min(100.0, total)), reasons=reasons)
