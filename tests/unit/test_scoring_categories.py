"""Categories, intent and the taxonomy data file."""

from __future__ import annotations

import pytest

from stream.scoring import Scorer
from stream.scoring.categories import TaxonomyError, parse_taxonomy
from stream.scoring.keywords import KeywordIndex, split, tokenize


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flight delayed 3 hours", {"delays"}),
        ("my flight was Cancelled Flightled", {"cancellations"}),
        ("you lost my luggage and I want a refund", {"baggage", "refunds_billing"}),
        ("on hold with customer service for an hour", {"customer_service"}),
        ("the gate agent was rude", {"staff"}),
        ("the lavatory was filthy", {"cleanliness"}),
        ("$400 for a bag fee?", {"pricing", "baggage", "refunds_billing"}),
        ("thanks to the crew, they were amazing", {"praise_staff", "praise_service"}),
        ("hello there", set()),
    ],
)
def test_categories(scorer: Scorer, text: str, expected: set[str]) -> None:
    assert set(scorer.score(text).categories) == expected


def test_praise_category_needs_positive_sentiment(scorer: Scorer) -> None:
    assert "praise_staff" not in scorer.score("the crew was rude and useless").categories
    assert "staff" in scorer.score("the crew was rude and useless").categories


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("my flight was delayed again", "complaint"),
        ("why is my flight delayed?", "complaint"),
        ("what is the baggage allowance?", "question"),
        ("thank you so much, the crew was wonderful", "praise"),
        ("flying to Denver tomorrow", "other"),
    ],
)
def test_intent(scorer: Scorer, text: str, intent: str) -> None:
    assert scorer.score(text).intent == intent


def test_taxonomy_rules_from_data() -> None:
    taxonomy = parse_taxonomy(
        {
            "version": "t1",
            "categories": [
                {"name": "pets", "any": ["dog", "cat*", "service animal"], "not": ["hot dog"]},
                {"name": "kudos", "kind": "praise", "when": "positive", "any": ["crew"], "also": ["great"]},
            ],
        }
    )
    assert taxonomy.classify("my dog", "neutral") == ["pets"]
    assert taxonomy.classify("the cats flew", "neutral") == ["pets"]
    assert taxonomy.classify("a service animal", "neutral") == ["pets"]
    assert taxonomy.classify("a hot dog", "neutral") == []
    assert taxonomy.classify("great crew", "positive") == ["kudos"]
    assert taxonomy.classify("great crew", "negative") == []
    assert taxonomy.classify("the crew", "positive") == []


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"version": "x", "categories": [{"name": "a"}]},
        {"version": "x", "categories": [{"name": "a", "any": ["b"], "when": "sometimes"}]},
        {"version": "x", "categories": [{"name": "a", "any": ["b"]}, {"name": "a", "any": ["c"]}]},
    ],
)
def test_bad_taxonomy_is_refused(data: object) -> None:
    with pytest.raises(TaxonomyError):
        parse_taxonomy(data)


def test_keyword_index_words_prefixes_phrases() -> None:
    index = KeywordIndex.build([(1, ["bag"]), (2, ["cancel*"]), (3, ["on hold"])])
    assert index.match(tokenize("my bag was cancelled while on hold")) == {1, 2, 3}
    assert index.match(tokenize("baggage on the hold")) == set()


def test_combined_index_finds_what_each_index_finds() -> None:
    a = KeywordIndex.build([(0, ["bag"]), (1, ["cancel*"]), (2, ["on hold"])])
    b = KeywordIndex.build([(0, ["on hold", "hold"]), (3, ["cancelled"]), (4, ["my bag was"])])
    both = KeywordIndex.combine([a, b])
    for text in ["my bag was cancelled while on hold", "baggage on the hold", "hold hold on hold", ""]:
        words = tokenize(text)
        assert split(both.match(words), 2) == [a.match(words), b.match(words)], text
        assert both.match(tuple(words)) == both.match(words)


def test_keyword_index_tokens_holding_spaces_match_token_by_token() -> None:
    index = KeywordIndex.build([(1, ["on hold"]), (2, ["cancel*"])])
    assert index.match(["on", "hold x"]) == set()
    assert index.match(["my bag", "on", "hold"]) == {1}
    assert index.match(["not cancel", "me"]) == set()
    assert index.match(["x y", "cancelled"]) == {2}
