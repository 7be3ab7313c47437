"""Replay files (JSON lines, CSV) and the webhook's checks, without a network."""

from __future__ import annotations

import json
from http import HTTPStatus
from pathlib import Path

import pytest

from listeners.sources import webhook
from listeners.sources.replay import ReplaySource, row_to_mention

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "replay"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def replay(name: str, speed: float | None = None) -> tuple[ReplaySource, FakeTime]:
    fake = FakeTime()
    return ReplaySource(FIXTURES / name, speed, fake.clock, fake.sleep, progress=False, batch_size=3), fake


def test_rows_become_mentions_with_platform_ids() -> None:
    m = row_to_mention({"id": 7, "text": "hi", "created_at": "2026-03-02T12:00:00Z", "author": "amy",
                        "author_followers": "12", "topics": "baggage|delays"})
    assert (m.id, m.platform, m.author_handle, m.author_followers, m.topics) == (
        "replay:7", "replay", "amy", 12, ["baggage", "delays"])
    assert row_to_mention({"id": "mastodon:9", "platform": "mastodon", "text": "x",
                           "created_at": "2026-03-02T12:00:00Z"}).id == "mastodon:9"


def test_jsonl_replay_dead_letters_bad_lines_with_their_number() -> None:
    source, _ = replay("mentions.jsonl")
    batches = list(source.batches({}))
    items = [i for b in batches for i in b.items]
    assert [i.mention.id for i in items if i.mention] == ["replay:r1", "mastodon:r2", "replay:r4", "replay:r6"]
    errors = [i.error for i in items if i.error]
    assert errors == [
        "line 3: SchemaError: field 'text': must not be empty",
        "line 4: SchemaError: expected a JSON object, got str",
        "line 7: SchemaError: not an ISO-8601 time: 'yesterday'",
    ]
    assert [b.cursors[source.cursor_key] for b in batches] == ["3", "7", "8"]  # blank line 5 is skipped


def test_replay_resumes_after_its_cursor() -> None:
    source, _ = replay("mentions.jsonl")
    items = [i for b in source.batches({source.cursor_key: "4"}) for i in b.items]
    assert [i.mention.id for i in items if i.mention] == ["replay:r4", "replay:r6"]


def test_replay_keeps_the_original_pace_times_speed() -> None:
    source, fake = replay("mentions.csv", speed=10)
    batches = list(source.batches({}))
    assert [len(b.items) for b in batches] == [1, 1, 1]  # paced rows go out one by one
    assert fake.slept == [3.0, 3.0]
    (bad,) = [i for b in batches for i in b.items if i.error]
    assert bad.error == "line 4: ValueError: invalid literal for int() with base 10: 'lots'"
    first = batches[0].items[0].mention
    assert first is not None and first.url == "https://example.invalid/c1" and first.author_followers == 120


SECRET = "s3cret"
GOOD = json.dumps({"mentions": [{"id": "a1", "text": "@SkywayAir hi", "created_at": "2026-03-02T12:00:00Z",
                                 "author": "amy"}]}).encode()


def test_signature_is_required_and_must_match_the_body() -> None:
    webhook.check_signature(SECRET, GOOD, webhook.sign(SECRET, GOOD))
    with pytest.raises(webhook.Rejected, match="missing X-Signature-256"):
        webhook.check_signature(SECRET, GOOD, None)
    with pytest.raises(webhook.Rejected, match="does not match"):
        webhook.check_signature(SECRET, GOOD + b" ", webhook.sign(SECRET, GOOD))
    with pytest.raises(webhook.Rejected, match="does not match"):
        webhook.check_signature("other", GOOD, webhook.sign(SECRET, GOOD))


@pytest.mark.parametrize(
    ("body", "ctype", "status", "reason"),
    [
        (GOOD, "text/plain", HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Content-Type"),
        (b"{nope", "application/json", HTTPStatus.BAD_REQUEST, "not valid JSON"),
        (b"[]", "application/json", HTTPStatus.BAD_REQUEST, "no mentions"),
        (json.dumps([{"id": "1", "text": "ok", "created_at": "2026-03-02T12:00:00Z"}, {"id": "2"}]).encode(),
         "application/json", HTTPStatus.UNPROCESSABLE_ENTITY, "mention [1]: KeyError: missing field 'text'"),
    ],
)
def test_bad_payloads_say_why(body: bytes, ctype: str, status: HTTPStatus, reason: str) -> None:
    with pytest.raises(webhook.Rejected) as caught:
        webhook.parse_body(body, ctype)
    assert caught.value.status == status and reason in caught.value.reason


def test_good_payload_shapes() -> None:
    one = {"id": "a1", "text": "@SkywayAir hi", "created_at": "2026-03-02T12:00:00Z", "brand": "skyway"}
    for body in (one, [one], {"mentions": [one]}):
        (item,) = webhook.parse_body(json.dumps(body).encode(), "application/json; charset=utf-8")
        assert item.mention is not None and item.mention.id == "webhook:a1" and item.mention.brand == "skyway"


def test_progress_bar_counts_the_lines_replayed(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeTime()
    source = ReplaySource(FIXTURES / "mentions.jsonl", None, fake.clock, fake.sleep, progress=True, batch_size=3)
    assert sum(len(b.items) for b in source.batches({})) == 7
    assert "replay mentions.jsonl" in capsys.readouterr().err
