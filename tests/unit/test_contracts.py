"""Every topic in infra/topics.yaml has a contract and example messages, and the examples validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.topics import load_specs
from stream import schema

CONTRACTS = Path(__file__).resolve().parents[2] / "infra" / "contracts"
CLASSES = {"Mention": schema.Mention, "ScoredMention": schema.ScoredMention, "DeadLetter": schema.DeadLetter,
           "SpikeAlert": schema.SpikeAlert, "IdentityLink": schema.IdentityLink}


@pytest.mark.parametrize("spec", [s for s in load_specs() if s.contract in CLASSES], ids=lambda s: s.name)
def test_examples_validate_and_round_trip(spec) -> None:  # type: ignore[no-untyped-def]
    path = CONTRACTS / f"{spec.name}.examples.jsonl"
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    assert lines, f"{path} has no examples"
    cls = CLASSES[spec.contract]
    for line in lines:
        record = cls.from_json(line)
        assert cls.from_json(record.to_json()) == record


def test_every_topic_is_specified() -> None:
    names = {s.name for s in load_specs()}
    assert names == {"mentions.raw", "mentions.scored", "mentions.deadletter", "alerts.spikes", "identity.links",
                     "listen.rules"}
    compacted = {s.name for s in load_specs() if s.cleanup == "compact"}
    assert compacted == {"identity.links", "listen.rules"}


GOOD = {"id": "x:1", "platform": "x", "text": "t", "created_at": "2026-01-01T00:00:00Z", "author_handle": "a"}


@pytest.mark.parametrize(("payload", "reason"), [
    ({k: v for k, v in GOOD.items() if k != "id"}, "missing required field 'id'"),
    (GOOD | {"text": "  "}, "'text': must not be empty"),
    (GOOD | {"created_at": "yesterday"}, "not an ISO-8601 time"),
    (GOOD | {"created_at": "2026-01-01T00:00:00"}, "without a zone"),
    (GOOD | {"author_followers": "many"}, "'author_followers'"),
    (GOOD | {"text": "t" * 10_001}, "more than"),
    ([1, 2], "expected a JSON object"),
])
def test_invalid_mentions_say_why(payload: object, reason: str) -> None:
    with pytest.raises(schema.SchemaError, match=reason):
        schema.Mention.from_dict(payload)


def test_not_json_says_so() -> None:
    with pytest.raises(schema.SchemaError, match="not valid JSON"):
        schema.Mention.from_json(b"\xff\xfe")


def test_spike_input_reads_the_same_fields_as_the_full_contract() -> None:
    for line in (CONTRACTS / "mentions.scored.examples.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        full = schema.ScoredMention.from_json(line)
        light = schema.spike_input(line)
        assert light == schema.SpikeInput(full.mention.id, full.mention.brand,
                                          schema.parse_time(full.mention.created_at),
                                          full.sentiment.label == "negative", tuple(full.categories),
                                          full.mention.text)


@pytest.mark.parametrize("raw", [
    b"not json", b"null", b"[]", b'{"mention": {}}', b"[" * 50_000, b"\xff\xfe",
    b'{"mention": {"id": 1, "text": "t", "created_at": "2026-01-01T00:00:00Z"}, "sentiment": {"label": "negative"}}',
    b'{"mention": {"id": "a", "text": "t", "created_at": "yesterday"}, "sentiment": {"label": "negative"}}',
    b'{"mention": {"id": "a", "text": "t", "created_at": "2026-01-01T00:00:00Z"}, "sentiment": {"label": "bad"}}',
    b'{"mention": {"id": "a", "text": "t", "created_at": "2026-01-01T00:00:00Z"}, "sentiment": {"label": "negative"},'
    b' "categories": [1]}',
])
def test_spike_input_refuses_what_is_not_a_scored_mention(raw: bytes) -> None:
    with pytest.raises(schema.SchemaError):
        schema.spike_input(raw)
