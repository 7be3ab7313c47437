"""`listening-center erase` on real Elasticsearch, Kafka and SQLite: nothing of theirs stays searchable, their
link is tombstoned on identity.links, cases about them are anonymised, someone else's data is untouched,
and the erasure is in the audit trail."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from infra.db import make_engine, migrate, session_factory, transaction
from infra.privacy import ERASED, erase_main, key_digest, retention_main
from infra.settings import Settings
from stream import documents, es_admin
from stream.indexer import BulkWriter, Record, build_batch
from stream.schema import IdentityLink, Mention, ScoredMention, Sentiment, format_time, link_key

pytestmark = pytest.mark.integration
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def scored(mid: str, handle: str, text: str, created: datetime) -> bytes:
    mention = Mention(id=mid, platform="mastodon", text=text, created_at=format_time(created),
                      author_handle=handle, brand="Southwest", ingested_at=format_time(created))
    return ScoredMention(mention, Sentiment("negative", -0.6), "test", format_time(created)).to_json()


def index(settings: Settings) -> None:
    es = es_admin.client(settings.es_url)
    es_admin.ensure_template(es, settings.index_prefix)
    values = [
        scored("mastodon:1", "@Jane_Doe", "my bag is lost again", NOW - timedelta(days=40)),  # last month
        scored("mastodon:2", "jane_doe", "still no bag, flight 1234", NOW - timedelta(days=1)),
        scored("mastodon:3", "someone_else", "my bag is lost too", NOW - timedelta(days=1)),
    ]
    records = [Record(v, "t", 0, i) for i, v in enumerate(values)]
    written, dead = BulkWriter(es, settings.index_prefix, threading.Event()).write(
        build_batch(records, settings.index_prefix, NOW), NOW)
    assert (written, dead) == (3, [])
    es.indices.refresh(index=documents.read_alias(settings.index_prefix))


def seed_database(url: str) -> None:
    from web.accounts import create_user
    from web.models import Case, HandleLink, Member, MentionState, Reply

    with transaction(session_factory(make_engine(url))) as s:
        agent = create_user(s, "agent1", "agent", "a long enough password", NOW)
        s.add(Member(loyalty_id="RR123", name="Jane Doe", tier="A-List", email="jane@example.com", created_at=NOW))
        s.flush()
        s.add(HandleLink(key=link_key("mastodon", "jane_doe"), platform="mastodon", handle="jane_doe",
                         loyalty_id="RR123", verified=True, linked_by=agent.id, linked_at=NOW))
        for mid, key in (("mastodon:2", link_key("mastodon", "jane_doe")), ("mastodon:3", "mastodon:someone_else")):
            s.add(MentionState(mention_id=mid, state="replied", author_key=key, payload="{...}", updated_at=NOW))
            s.add(Case(mention_id=mid, loyalty_id="RR123" if mid == "mastodon:2" else None, author_key=key,
                       category="baggage", severity="high", notes="called Jane at home", apology="Sorry Jane",
                       compensation_cents=5000, state="resolved", opened_by=agent.id, opened_at=NOW,
                       resolved_at=NOW - timedelta(days=100), updated_at=NOW))
            s.add(Reply(mention_id=mid, user_id=agent.id, text="@jane_doe sorry!", status="sent", created_at=NOW))


def tombstone_on_topic(settings: Settings, key: str) -> bool:
    from kafka import KafkaConsumer, TopicPartition

    topic = settings.topic("identity.links")
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        last: dict[str, bytes | None] = {}
        while consumer.position(tp) < end:
            for records in consumer.poll(timeout_ms=1000).values():
                for r in records:
                    last[r.key.decode()] = r.value
        return key in last and last[key] is None
    finally:
        consumer.close()


def count(settings: Settings, query: dict[str, object]) -> int:
    es = es_admin.client(settings.es_url)
    return int(es.count(index=documents.read_alias(settings.index_prefix), query=query)["count"])


def test_erase_leaves_nothing_of_theirs_searchable(lc: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    from web.identity import KafkaPublisher
    from web.models import AuditEntry, Case, HandleLink, MentionState, Reply

    migrate(lc.db_url)
    seed_database(lc.db_url)
    index(lc)
    key = link_key("mastodon", "jane_doe")
    publisher = KafkaPublisher(lc.kafka_bootstrap, lc.topic("identity.links"))
    publisher.link(IdentityLink("mastodon", "jane_doe", "RR123", format_time(NOW), "A-List", True))
    publisher.close()
    assert count(lc, {"term": {"author_handle": "jane_doe"}}) == 2

    assert erase_main(["--platform", "mastodon", "--handle", "@JANE_DOE"], settings=lc, clock=lambda: NOW) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mentions_deleted"] == 2 and result["links"] == 1 and result["cases_anonymised"] == 1

    assert count(lc, {"term": {"author_handle": "jane_doe"}}) == 0
    assert count(lc, {"match": {"text": "bag"}}) == 1  # only someone_else's
    assert count(lc, {"match": {"text": "1234"}}) == 0
    assert tombstone_on_topic(lc, key)

    with session_factory(make_engine(lc.db_url))() as s:
        assert s.scalar(sa.select(HandleLink).where(HandleLink.key == key)) is None
        assert [m.mention_id for m in s.scalars(sa.select(MentionState))] == ["mastodon:3"]
        assert [r.mention_id for r in s.scalars(sa.select(Reply))] == ["mastodon:3"]
        cases = {c.author_key: c for c in s.scalars(sa.select(Case))}
        assert cases[ERASED].notes == "" and cases[ERASED].mention_id is None
        assert cases[ERASED].compensation_cents == 5000  # the books keep the amount
        assert cases["mastodon:someone_else"].notes == "called Jane at home"
        entry = s.scalar(sa.select(AuditEntry).where(AuditEntry.action == "privacy.erase"))
        assert entry is not None and entry.object_id == f"sha256:{key_digest(key)}"
        assert "jane" not in entry.after.lower()

    # Erasing again finds nothing more and still succeeds (a half-done run is finished this way).
    assert erase_main(["--platform", "mastodon", "--handle", "jane_doe"], settings=lc, clock=lambda: NOW) == 0
    assert json.loads(capsys.readouterr().out)["mentions_deleted"] == 0


def test_retention_drops_old_months_and_anonymises_old_resolved_cases(
        lc: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    from web.models import Case

    migrate(lc.db_url)
    seed_database(lc.db_url)
    index(lc)
    assert retention_main(["--mention-months", "1", "--case-days", "90"], settings=lc, clock=lambda: NOW) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["indices_dropped"]) == 1 and out["indices_dropped"][0].endswith("2026.01")
    assert out["cases_anonymised"] == 2
    assert count(lc, {"match_all": {}}) == 2  # this month's two mentions stay
    with session_factory(make_engine(lc.db_url))() as s:
        assert {c.author_key for c in s.scalars(sa.select(Case))} == {ERASED}
