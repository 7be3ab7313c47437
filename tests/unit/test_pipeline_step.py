"""The worker's per-mention step and the indexer's batch building, without Kafka or Elasticsearch."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from stream.documents import monthly_index, stems, write_alias
from stream.identity import IdentityTable
from stream.indexer import Backoff, Record, build_batch
from stream.pipeline import MAX_RAW_BYTES, RepeatCounter, Step
from stream.schema import DeadLetter, IdentityLink, Mention, ScoredMention
from stream.scoring import Scorer

NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer()


def step(scorer: Scorer, identities: IdentityTable | None = None) -> Step:
    table = identities if identities is not None else IdentityTable()
    return Step(scorer=scorer, identities=table, clock=lambda: NOW, repeats=RepeatCounter())


def raw(text: str, handle: str = "flyer42", **kw: object) -> bytes:
    m = {"id": "test:1", "platform": "mastodon", "text": text, "created_at": "2026-11-20T13:59:00Z",
         "author_handle": handle, "brand": "skyway"} | kw
    return json.dumps(m).encode()


def test_scores_a_valid_mention(scorer: Scorer) -> None:
    out = step(scorer)(raw("@SkywayAir my flight was cancelled and nobody helps"), "mentions.raw", 0, 5)
    assert isinstance(out, ScoredMention)
    assert out.sentiment.label == "negative"
    assert out.scored_at == "2026-11-20T14:00:00Z"
    assert out.lexicon_version and out.priority.reasons


@pytest.mark.parametrize(("payload", "reason"), [
    (b"{oops", "not valid JSON"),
    (None, "empty message"),
    (b"x" * (MAX_RAW_BYTES + 1), "more than"),
    (json.dumps({"id": "a"}).encode(), "missing required field"),
])
def test_bad_input_becomes_a_dead_letter_with_reason_and_offset(scorer: Scorer, payload: bytes | None,
                                                                reason: str) -> None:
    out = step(scorer)(payload, "mentions.raw", 3, 77)
    assert isinstance(out, DeadLetter)
    assert reason in out.reason
    assert (out.source_topic, out.source_partition, out.source_offset) == ("mentions.raw", 3, 77)


def test_binary_input_is_kept_exactly_as_base64(scorer: Scorer) -> None:
    out = step(scorer)(b"\xff\x00\xfe", "mentions.raw", 0, 1)
    assert isinstance(out, DeadLetter) and out.original_encoding == "base64"


def test_a_link_enriches_the_next_mention_and_an_unlink_removes_it(scorer: Scorer) -> None:
    table = IdentityTable()
    s = step(scorer, table)
    link = IdentityLink(platform="mastodon", handle="@Flyer42", loyalty_id="RR1", linked_at="2026-11-20T10:00:00Z",
                        tier="gold", verified=True)
    assert table.apply(link.key, link.to_json()) is None
    out = s(raw("@SkywayAir where is my bag"), "t", 0, 0)
    assert isinstance(out, ScoredMention) and out.linked and out.tier == "gold"
    assert "RR1" not in out.to_json().decode()  # the loyalty ID never leaves the database
    table.apply(link.key, None)
    out = s(raw("@SkywayAir where is my bag"), "t", 0, 1)
    assert isinstance(out, ScoredMention) and not out.linked


def test_identity_table_reports_bad_records() -> None:
    assert "invalid identity link" in (IdentityTable().apply(b"k", b"{}") or "")
    assert IdentityTable().apply(None, b"{}") == "identity link without a key"


def test_repeat_counter_is_bounded() -> None:
    c = RepeatCounter(capacity=2)
    for a in ("a", "b", "a", "c"):
        c.add(a)
    assert c.count("a") == 2 and c.count("b") == 0 and c.count("c") == 1


def scored_bytes(mid: str, created: str = "2026-11-20T13:59:00Z") -> bytes:
    m = Mention(id=mid, platform="demo", text="delayed again", created_at=created, author_handle="x", brand="b")
    return ScoredMention.from_dict({"mention": m.to_dict(), "sentiment": {"label": "negative", "compound": -0.5},
                                    "lexicon_version": "1", "scored_at": "2026-11-20T14:00:00Z"}).to_json()


def test_batch_routes_by_month_keeps_last_version_and_dead_letters_invalid() -> None:
    records = [Record(scored_bytes("a"), "s", 0, 0), Record(scored_bytes("a"), "s", 0, 1),
               Record(scored_bytes("b", "2026-10-31T23:59:59Z"), "s", 0, 2), Record(b"{}", "s", 0, 3),
               Record(None, "s", 0, 4)]
    batch = build_batch(records, "lc", NOW)
    assert set(batch.actions) == {"a", "b"}
    assert batch.actions["a"][0] == write_alias("lc", "2026.11")
    assert batch.actions["b"][0] == write_alias("lc", "2026.10")
    assert batch.actions["a"][1]["text_stems"] == "delay again"
    assert len(batch.dead) == 1 and batch.dead[0].source_offset == 3


def test_backoff_doubles_up_to_a_cap() -> None:
    slept: list[float] = []
    b = Backoff(base=1, cap=5, sleep=slept.append)
    for _ in range(5):
        b.wait()
    assert slept == [1, 2, 4, 5, 5]


def test_stems_and_index_names() -> None:
    assert stems("Cancelled flights, delayed bags!") == "cancel flight delay bag"
    assert monthly_index("lc", "2026.11", 1) == "lc-mentions-v1-2026.11"
