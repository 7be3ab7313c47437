"""Priority: explainable points, each reason a sentence with its points."""

from __future__ import annotations

import pytest

from stream.scoring import Scorer


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer()


def test_every_part_explains_its_points(scorer: Scorer) -> None:
    j = scorer.score(
        "stranded in Chicago, flight cancelled",
        followers=100_000,
        linked=True,
        tier="A-List Preferred",
        repeat_complaints=2,
        waited_seconds=1800,
    )
    reasons = " ".join(j.priority.reasons)
    for part in ("Negative sentiment", "complaint", "stranded", "100,000 followers", "Linked loyalty member",
                 "A-List Preferred", "2 earlier complaint", "Waited 30 min"):
        assert part in reasons
    assert all(r.endswith(("point.", "points.")) for r in j.priority.reasons)
    assert 0 <= j.priority.score <= 100


def test_points_add_up_to_the_score(scorer: Scorer) -> None:
    j = scorer.score("my flight is delayed", followers=10_000, waited_seconds=600)
    total = sum(float(r.rsplit("+", 1)[1].split(" ")[0]) for r in j.priority.reasons)
    assert total == j.priority.score


def test_ranking_order(scorer: Scorer) -> None:
    calm = scorer.score("flying to Denver tomorrow").priority.score
    question = scorer.score("what is the baggage allowance?").priority.score
    complaint = scorer.score("flight delayed 3 hours, no one at the desk").priority.score
    urgent = scorer.score("stranded, missed my connection, my son needs his insulin").priority.score
    assert calm < question < complaint < urgent


def test_score_is_capped_at_100(scorer: Scorer) -> None:
    j = scorer.score(
        "EMERGENCY stranded, missed my connection, wheelchair lost, worst airline ever!!!",
        followers=10**9,
        linked=True,
        tier="diamond",
        repeat_complaints=50,
        waited_seconds=10**6,
    )
    assert j.priority.score == 100


def test_wait_and_reach_grow_priority(scorer: Scorer) -> None:
    base = scorer.score("my bag is missing").priority.score
    assert scorer.score("my bag is missing", waited_seconds=3600).priority.score > base
    assert scorer.score("my bag is missing", followers=1_000_000).priority.score > base
