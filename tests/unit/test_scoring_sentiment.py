"""Sentiment with the care lexicon: what plain VADER gets wrong on care posts, and what it must keep."""

from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from stream.scoring import Scorer
from stream.scoring.sentiment import label_for


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer()


@pytest.mark.parametrize(
    "text",
    [
        "@united my flight was delayed 3 hours",
        "been on hold for 2 hours",
        "still waiting on my refund",
        "you lost my bag",
        "my bag never arrived",
        "charged twice for the same seat",
        "thanks for nothing",
        "@SouthwestAir please help, my flight got cancelled",
        "stranded in Denver overnight",
        "Great, another delay",
    ],
)
def test_care_complaints_read_negative(scorer: Scorer, text: str) -> None:
    assert scorer.score(text).sentiment.label == "negative"


@pytest.mark.parametrize(
    "text",
    [
        "@united thanks for the quick help rebooking!",
        "landed early, smooth flight",
        "shout out to the crew, they went above and beyond",
        "I love this 😀",
    ],
)
def test_praise_stays_positive(scorer: Scorer, text: str) -> None:
    assert scorer.score(text).sentiment.label == "positive"


def test_negation_reverses_a_care_word(scorer: Scorer) -> None:
    assert scorer.score("the flight was not delayed at all").sentiment.compound > 0
    assert scorer.score("flight not on time, again").sentiment.label == "negative"


def test_intensifier_strengthens_a_care_word(scorer: Scorer) -> None:
    plain = scorer.score("my flight is delayed").sentiment.compound
    boosted = scorer.score("my flight is extremely delayed").sentiment.compound
    assert boosted < plain < 0


def test_a_handle_is_not_an_opinion(scorer: Scorer) -> None:
    assert scorer.score("@united flying to Denver").sentiment.label == "neutral"


def test_sarcasm_and_disagreement_are_flagged_uncertain(scorer: Scorer) -> None:
    sarcastic = scorer.score("Oh great, delayed again")
    assert sarcastic.sentiment.uncertain and sarcastic.sentiment.label == "negative"
    assert not scorer.score("What a lovely sunny day").sentiment.uncertain


def test_vader_compound_is_kept_next_to_ours(scorer: Scorer) -> None:
    text = "thanks for nothing"
    s = scorer.score(text).sentiment
    assert s.vader_compound == SentimentIntensityAnalyzer().polarity_scores(text)["compound"]
    assert s.vader_compound > 0 > s.compound


def test_general_text_keeps_vaders_reading(scorer: Scorer) -> None:
    vader = SentimentIntensityAnalyzer()
    for text in ["The movie was terrible.", "What a wonderful day!", "The book is on the table."]:
        assert scorer.score(text).sentiment.compound == vader.polarity_scores(text)["compound"]


def test_labels_use_vader_thresholds() -> None:
    assert [label_for(c) for c in (-0.05, -0.04, 0.04, 0.05)] == ["negative", "neutral", "neutral", "positive"]


def test_lexicon_version_is_stamped(scorer: Scorer) -> None:
    assert scorer.score("hello").lexicon_version.startswith("care-")
