"""Hostile mention text: huge, binary, RTL tricks, emoji floods. The scorer reads a bounded, cleaned text,
never raises, and a scorer failure dead-letters the one mention instead of stopping the worker."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listeners.rules import RuleError, compile_rule
from stream.identity import IdentityTable
from stream.pipeline import RepeatCounter, Step
from stream.schema import DeadLetter, IdentityLink, Mention, Record, SchemaError, ScoredMention, SpikeAlert
from stream.scoring import Scorer
from stream.scoring.guard import MAX_SCORED_CHARS, scorable
from stream.scoring.sentiment import CareSentiment, SentimentReading

NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
HOSTILE = {
    "very long": "terrible delayed flight not good but thanks " * 1_500,
    "no spaces": "a" * 60_000,
    "emoji flood": "😡" * 20_000,
    "emoji words": "bad 😡 🙄 " * 6_000,
    "binary": bytes(range(256)).decode("latin-1") * 200,
    "rtl override": "\u202e" * 5_000 + "@SkywayAir great \u200f service",
    "but flood": "but " * 15_000,
    "nul bytes": "cancelled\x00\x00 flight " * 3_000,
}


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer()


def test_scorable_caps_at_a_word_and_keeps_short_text() -> None:
    assert scorable("my flight was cancelled") == "my flight was cancelled"
    capped = scorable("word " * 2_000)
    assert len(capped) <= MAX_SCORED_CHARS and capped.endswith("word")
    assert len(scorable("x" * 10_000)) == MAX_SCORED_CHARS  # no space to cut at: a hard cut


def test_scorable_drops_bidi_overrides_and_controls_but_not_words_or_emoji() -> None:
    assert scorable("\u202egood\u202c \u200fservice\x00\x07 😡\tok\n") == "good service 😡\tok\n"
    assert scorable("مرحبا שלום") == "مرحبا שלום"  # right-to-left scripts themselves stay


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_sentiment_reader_only_ever_sees_a_bounded_text(
    scorer: Scorer, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    read = CareSentiment.read

    def spy(self: CareSentiment, text: str) -> SentimentReading:
        seen.append(len(text))
        return read(self, text)

    monkeypatch.setattr(CareSentiment, "read", spy)
    judgement = scorer.score(HOSTILE[name])
    assert seen and max(seen) <= MAX_SCORED_CHARS
    assert judgement.sentiment.label in {"positive", "negative", "neutral"}


def test_an_rtl_override_does_not_hide_the_words_from_the_scorer(scorer: Scorer) -> None:
    plain = scorer.score("my bag is lost and the service is terrible")
    hidden = scorer.score("my bag is \u202elost\u202c and the service is \u2066terrible\u2069")
    assert hidden.sentiment == plain.sentiment


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=3_000) | st.binary(max_size=3_000).map(lambda b: b.decode("utf-8", "replace")))
def test_any_text_scores_without_raising(scorer: Scorer, text: str) -> None:
    judgement = scorer.score(text)
    assert judgement.sentiment.label in {"positive", "negative", "neutral"}
    assert -1.0 <= judgement.sentiment.compound <= 1.0


def test_a_scorer_failure_dead_letters_the_mention_and_the_next_one_scores(scorer: Scorer) -> None:
    class Fragile(Scorer):
        def score(self, text: str, **kw: object) -> object:  # type: ignore[override]
            if "boom" in text:
                raise RecursionError("maximum recursion depth exceeded")
            return super().score(text, **kw)  # type: ignore[arg-type]

    step = Step(scorer=Fragile(), identities=IdentityTable(), clock=lambda: NOW, repeats=RepeatCounter())

    def raw(text: str) -> bytes:
        return json.dumps({"id": "t:1", "platform": "mastodon", "text": text, "created_at": "2026-11-20T13:59:00Z",
                           "author_handle": "a", "brand": "skyway"}).encode()

    out = step(raw("boom"), "mentions.raw", 0, 7)
    assert isinstance(out, DeadLetter)
    assert out.reason.startswith("scoring failed: RecursionError") and out.source_offset == 7
    assert isinstance(step(raw("cancelled again"), "mentions.raw", 0, 8), ScoredMention)


# Every consumer decodes with `from_json`: anything but SchemaError out of it would stop a consumer.
CONTRACTS = (Mention, ScoredMention, SpikeAlert, IdentityLink)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=10,
)


@pytest.mark.parametrize("raw", [
    b"[" * 60_000,  # deeper than Python's recursion limit
    b'{"id": 1' + b"1" * 5_000 + b"}",  # an int past Python's 4,300-digit conversion limit
    b"\xff\xfe\x00\x00", b"", b"null", b"[]", b'"text"', b"1e999999",
])
@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.__name__)
def test_hostile_messages_are_schema_errors(contract: type[Record], raw: bytes) -> None:
    with pytest.raises(SchemaError):
        contract.from_json(raw)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode())
       | st.fixed_dictionaries({"id": json_values, "text": json_values, "created_at": json_values,
                                "platform": json_values, "mention": json_values}).map(lambda v: json.dumps(v).encode()))
def test_decoding_anything_raises_nothing_but_schema_error(raw: bytes) -> None:
    for contract in CONTRACTS:
        with contextlib.suppress(SchemaError):
            contract.from_json(raw)


@pytest.mark.parametrize("rule", [
    "(" * 1999 + "a" + ")" * 1999, "NOT " * 999 + "a", "-" * 3999 + "a", "(NOT " * 790 + "a" + ")" * 790,
    "a NEAR/" + "9" * 3000 + " b", "a NEAR/² b", "a OR " * 1000 + "b", "(" * 5000, '"' * 5001, "\x00\u202e(",
], ids=lambda r: repr(r[:12]))
def test_hostile_rule_expressions_are_rule_errors_or_rules(rule: str) -> None:
    """Deep nesting, huge counts, long rules: the parser's limits answer, never a RecursionError."""
    with contextlib.suppress(RuleError):
        compile_rule(rule)


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.sampled_from(["a", "bag", '"lost bag"', "refund*", "😡"]),
                    lambda inner: st.one_of(inner.map(lambda r: f"({r})"), inner.map(lambda r: f"NOT {r}"),
                                            st.tuples(inner, st.sampled_from([" AND ", " OR ", " NEAR/3 "]), inner)
                                            .map("".join)),
                    max_leaves=200))
def test_generated_deep_rules_parse_or_raise_rule_error(rule: str) -> None:
    with contextlib.suppress(RuleError):
        compile_rule(rule)
