"""The listener's per-item logic and the cursor discipline, with an in-memory sink and a SQLite cursor store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.db import make_engine, migrate, session_factory
from listeners.cursors import CursorStore, read_states
from listeners.producer import DeliveryError, MemorySink
from listeners.runner import Dedupe, Listener, RulesHolder, Topics, apply_rules, run
from listeners.sources.base import Backoff, Batch, Item, SourceState, normalise, parse_retry_after
from stream.schema import DeadLetter, Mention

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TOPICS = Topics("t.mentions.raw", "t.mentions.deadletter")


def clock() -> datetime:
    return NOW


def mention(native: str, text: str = "@SkywayAir lost my bag") -> Mention:
    return Mention(id=f"test:{native}", platform="test", text=text, created_at="2026-03-02T11:00:00Z",
                   author_handle="amy")


def listener(rules: RulesHolder | None = None, sink: MemorySink | None = None) -> Listener:
    return Listener(SourceState("test"), sink or MemorySink(), TOPICS, rules, clock)


@dataclass(frozen=True)
class Match:
    brand: str
    rule_id: str
    competitor: bool = False
    topics: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()


class WordRules:
    """Stands in for a compiled RuleSet: a brand per word; matched topics ride on each brand match."""

    def __init__(self, brands: dict[str, tuple[str, bool]], topics: dict[str, str]) -> None:
        self.brands, self.topics = brands, topics

    def match(self, post: Any) -> list[Match]:
        text = post.text.lower()
        topics = tuple(t for w, t in self.topics.items() if w in text)
        return [Match(b, f"{b}-brand", comp, topics) for w, (b, comp) in self.brands.items() if w in text]


RULES = WordRules({"skyway": ("skyway", False), "northwind": ("northwind", True)}, {"bag": "baggage"})


def sent(sink: MemorySink, topic: str = TOPICS.raw) -> list[dict[str, Any]]:
    return [json.loads(v) for t, _k, v in sink.sent if t == topic]


def test_rules_fill_brand_topics_and_prefer_the_own_brand() -> None:
    filled = apply_rules(mention("1", "Leaving @NorthwindAir for @SkywayAir, they lost my bag"), RULES)
    assert filled is not None
    assert (filled.brand, filled.competitor) == ("skyway", False)
    assert filled.matched_rules == ["skyway-brand"]
    assert filled.topics == ["baggage"]
    competitor = apply_rules(mention("2", "@NorthwindAir is late"), RULES)
    assert competitor is not None and (competitor.brand, competitor.competitor) == ("northwind", True)


def test_a_topic_alone_is_not_a_brand_mention() -> None:
    assert apply_rules(mention("1", "the airline lost my bag"), RULES) is None


def test_handle_sends_keyed_by_id_drops_no_brand_and_duplicates() -> None:
    sink = MemorySink()
    lis = listener(RulesHolder(RULES), sink)
    assert lis.handle(Item(mention("1"), "{}")) == "sent"
    assert lis.handle(Item(mention("1"), "{}")) == "duplicate"
    assert lis.handle(Item(mention("2", "nice weather"), "{}")) == "no-brand"
    (record,) = sink.sent
    assert record[:2] == (TOPICS.raw, "test:1")
    body = Mention.from_json(record[2])
    assert body.brand == "skyway" and body.ingested_at == "2026-03-02T12:00:00Z"
    assert (lis.state.items, lis.state.dropped, lis.state.last_post_at) == (1, 2, "2026-03-02T11:00:00Z")


def test_without_rules_only_a_brand_the_source_knows_passes() -> None:
    sink = MemorySink()
    lis = listener(None, sink)
    named = mention("1")
    named.brand = "skyway"
    assert lis.handle(Item(named, "{}")) == "sent"
    assert lis.handle(Item(mention("2"), "{}")) == "no-brand"
    assert sent(sink)[0]["brand"] == "skyway"


def test_malformed_items_are_dead_lettered_with_the_reason() -> None:
    sink = MemorySink()
    lis = listener(RulesHolder(RULES), sink)
    item = normalise(lambda p: mention(p["id"], p["content"]), {"id": "9"})
    assert item.mention is None and item.error == "KeyError: missing field 'content'"
    assert lis.handle(item) == "dead"
    empty = normalise(lambda p: mention(p["id"], p["content"]), {"id": "9", "content": " "})
    assert lis.handle(empty) == "dead"
    letters = [DeadLetter.from_json(v) for t, _k, v in sink.sent if t == TOPICS.dead]
    assert [x.reason for x in letters] == ["KeyError: missing field 'content'",
                                           "SchemaError: field 'text': must not be empty"]
    assert letters[0].stage == "listener:test" and json.loads(letters[0].original) == {"id": "9"}
    assert lis.state.dead == 2


@pytest.fixture
def store(tmp_path: Path) -> CursorStore:
    url = f"sqlite:///{tmp_path / 'lc.db'}"
    migrate(url)
    return CursorStore(session_factory(make_engine(url)), "test")


class PagedSource:
    """Three pages of two posts; each page's cursor is the last id on it."""

    name = "test"

    def __init__(self) -> None:
        self.started_from: list[str | None] = []

    def batches(self, cursors: dict[str, str]) -> Iterator[Batch]:
        since = int(cursors.get("since_id", "0"))
        self.started_from.append(cursors.get("since_id"))
        for page in range(since // 2, 3):
            ids = [page * 2 + 1, page * 2 + 2]
            yield Batch([Item(mention(str(i)), "{}") for i in ids], {"since_id": str(ids[-1])}, quota_left=99)


def test_cursor_advances_only_after_an_acknowledged_flush(store: CursorStore) -> None:
    sink = MemorySink()
    lis = listener(RulesHolder(RULES), sink)
    source = PagedSource()

    class Outage(MemorySink):
        def flush(self) -> None:
            if len(self.sent) > 4:
                raise DeliveryError("broker gone")
            super().flush()

    lis.sink = sink = Outage()
    with pytest.raises(DeliveryError):
        run(source, lis, store, clock)
    assert store.load() == {"since_id": "4"}  # page 3 was not acknowledged, its cursor did not move
    (state,) = read_states(store.factory)
    assert state["last_error"] == "DeliveryError: broker gone" and state["quota_left"] == 99

    # The restart re-reads page 3 (not skipped) and the dedupe lets it through again (not lost).
    sink2 = MemorySink()
    lis.sink = sink2
    run(source, lis, store, clock)
    assert source.started_from == [None, "4"]
    assert [k for _t, k, _v in sink.acked + sink2.acked] == [f"test:{i}" for i in range(1, 7)]
    assert store.load() == {"since_id": "6"}


def test_cursors_of_a_batch_advance_together(store: CursorStore) -> None:
    store.save({"a": "1", "b": "2"}, NOW)
    store.save({"b": "3"}, NOW + timedelta(seconds=1))
    assert store.load() == {"a": "1", "b": "3"}
    assert CursorStore(store.factory, "other").load() == {}


def test_dedupe_is_bounded_lru() -> None:
    d = Dedupe(size=2)
    assert not d.check_and_add("a") and not d.check_and_add("b")
    assert d.check_and_add("a")  # refreshes a
    assert not d.check_and_add("c")  # evicts b
    assert not d.check_and_add("b")
    assert d.check_and_add("c")


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    import random

    b = Backoff(base=1, cap=8, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(10)]
    assert all(0 <= d <= 8 for d in delays)
    assert b.next_delay(retry_after=30) == 30
    assert parse_retry_after("12", NOW) == 12
    assert parse_retry_after("Mon, 02 Mar 2026 12:00:45 GMT", NOW) == 45
    assert parse_retry_after("soon", NOW) is None


def test_demo_posts_through_the_default_rules_keep_their_brand_and_topic() -> None:
    from listeners.rules import load_rules
    from listeners.sources import demo

    rules = load_rules()
    posts = [p for _, p in demo.generate("normal", 3, NOW, duration=timedelta(hours=6))]
    branded = [p for p in posts if p["truth"]["brand"]]
    brand_ok = topic_ok = complaints = 0
    for post in branded:
        filled = apply_rules(demo.to_mention(post), rules)
        brand_ok += filled is not None and filled.brand == post["truth"]["brand"]
        if post["truth"]["kind"] == "complaint" and post["lang"] == "en":
            complaints += 1
            topic_ok += filled is not None and post["truth"]["topic"] in filled.topics
    assert brand_ok / len(branded) > 0.97
    assert topic_ok / complaints > 0.9
    noise = [p for p in posts if not p["truth"]["brand"]]
    assert noise and all(apply_rules(demo.to_mention(p), rules) is None for p in noise)
