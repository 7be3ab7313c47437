"""The demo generator: seeded replays, realistic mixes, and the scenario shapes the spike detector needs."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from listeners.sources import demo
from listeners.sources.pacing import pace
from stream.schema import Mention

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _posts(scenario: str, seed: int = 7, **options: Any) -> list[tuple[datetime, dict[str, Any]]]:
    return list(demo.generate(scenario, seed, START, **options))


def test_same_seed_replays_exactly_and_another_seed_differs() -> None:
    assert _posts("incident") == _posts("incident")
    assert _posts("incident") != _posts("incident", seed=8)


def test_times_are_ordered_within_the_duration_and_ids_unique() -> None:
    posts = _posts("normal", duration=timedelta(hours=3))
    times = [t for t, _ in posts]
    assert times == sorted(times)
    assert times[0] >= START and times[-1] <= START + timedelta(hours=3)
    assert len({p["id"] for _, p in posts}) == len(posts)
    assert all(p["created_at"] == t.isoformat().replace("+00:00", "Z") for t, p in posts)


def test_posts_become_valid_mentions() -> None:
    for _, post in _posts("competitor_outage", duration=timedelta(minutes=90)):
        mention = Mention.from_dict(demo.to_mention(post, with_truth=True).to_dict())
        assert mention.id == f"demo:{post['id']}"
        assert mention.author_followers is not None and mention.author_followers >= 0


def test_mix_has_every_brand_kind_topic_repeat_authors_and_rare_languages() -> None:
    posts = [p for _, p in _posts("normal")]
    truths = [p["truth"] for p in posts]
    assert {t["brand"] for t in truths} >= {"skyway", "skyway-vacations", "northwind", "bluejet"}
    assert {t["kind"] for t in truths} >= {"complaint", "question", "praise"}
    assert {t["topic"] for t in truths} >= set(demo.COMPLAINT_TOPICS)
    authors = Counter(p["author"] for p in posts)
    assert authors.most_common(1)[0][1] > 5  # regulars come back
    assert authors.most_common(1)[0][1] < len(posts) * 0.05  # but nobody floods
    langs = Counter(p["lang"] for p in posts)
    assert langs["en"] > 0.85 * len(posts)
    assert len(langs) >= 3
    # Brands are referenced the way people write them, so keyword rules have something to catch.
    for post in posts:
        truth = post["truth"]
        if truth["brand"] == "skyway":
            assert "skyway" in str(post["text"]).lower()


def test_normal_day_has_a_daily_rhythm() -> None:
    posts = list(demo.generate("normal", 1, datetime(2026, 3, 2, 0, 0, tzinfo=UTC)))
    by_hour = Counter(t.hour for t, _ in posts)
    assert by_hour[16] > 2.5 * by_hour[4]


def _per_ten_minutes(posts: list[tuple[datetime, dict[str, Any]]], brand: str, kind: str,
                     topic: str) -> list[int]:
    buckets = Counter(
        int((t - START).total_seconds() // 600)
        for t, p in posts
        if p["truth"] == {**p["truth"], "brand": brand, "kind": kind, "topic": topic}
    )
    return [buckets[i] for i in range(12)]


def test_incident_climbs_for_twenty_minutes_then_fades() -> None:
    counts = _per_ten_minutes(_posts("incident", topic="baggage"), "skyway", "complaint", "baggage")
    before, climb, after = counts[0:3], counts[3:5], counts[8:12]
    assert max(before) <= 3
    assert climb[1] > climb[0] > 3 * max(1, max(before))
    assert max(after) < climb[1] / 3


def test_competitor_outage_and_praise_burst_surge_the_right_brand() -> None:
    outage = _per_ten_minutes(_posts("competitor_outage"), "northwind", "complaint", "delays")
    assert max(outage[3:8]) > 4 * max(1, max(outage[0:3]))
    switchers = [p for _, p in _posts("competitor_outage") if p["truth"]["kind"] == "switcher"]
    assert switchers and all("skyway" in str(p["text"]).lower() for p in switchers)
    praise = _per_ten_minutes(_posts("praise_burst"), "skyway", "praise", "staff")
    assert max(praise[3:6]) > 4 * max(1, max(praise[0:3]))


def test_unknown_scenario_and_naive_start_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        next(demo.generate("volcano", 1, START))
    with pytest.raises(ValueError, match="time zone"):
        next(demo.generate("normal", 1, datetime(2026, 1, 1)))


def test_write_jsonl_gives_backtest_mentions(tmp_path: Path) -> None:
    path = tmp_path / "incident.jsonl"
    count = demo.write_jsonl(path, "incident", 3, START)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert count == len(lines) > 100
    rows = [json.loads(line) for line in lines]
    assert all(row["brand"] and row["text"] and row["created_at"] for row in rows)
    assert [Mention.from_dict(r).id for r in rows[:3]] == [r["id"] for r in rows[:3]]


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pace_waits_for_each_event_times_speed_or_not_at_all() -> None:
    events = [(START + timedelta(seconds=s), s) for s in (0, 10, 30)]
    fake = FakeTime()
    assert [x for _, x in pace(events, fake.clock, fake.sleep, speed=2.0)] == [0, 10, 30]
    assert fake.slept == [5.0, 10.0]
    fake = FakeTime()
    list(pace(events, fake.clock, fake.sleep, speed=None))
    assert fake.slept == []


def test_live_mode_paces_at_the_configured_rate() -> None:
    fake = FakeTime()
    stream = demo.live("normal", 5, 5.0, lambda: datetime(2026, 3, 2, 16, tzinfo=UTC), fake.clock, fake.sleep)
    posts = [next(stream) for _ in range(500)]
    elapsed = fake.now - 100.0
    expected = 5.0 * demo.daily_rhythm(datetime(2026, 3, 2, 16, tzinfo=UTC))
    assert 500 / elapsed == pytest.approx(expected, rel=0.2)
    assert len({p["id"] for p in posts}) == 500
