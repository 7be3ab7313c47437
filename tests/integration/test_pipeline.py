"""The walking skeleton on the real engines: raw mention -> worker -> scored -> indexer -> Elasticsearch."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer, KafkaProducer

from infra.settings import Settings
from stream import documents, es_admin
from stream.schema import DeadLetter, Mention, format_time
from tests.conftest import Processes, wait_for

pytestmark = pytest.mark.integration


def mention(text: str, **kw: object) -> Mention:
    fields: dict[str, object] = {
        "id": f"test:{uuid.uuid4().hex[:12]}", "platform": "test", "text": text,
        "created_at": format_time(datetime.now(UTC)), "author_handle": "flyer42", "brand": "skyway",
    }
    fields.update(kw)
    return Mention(**fields)  # type: ignore[arg-type]


def produce(settings: Settings, *values: bytes, key: bytes | None = None) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    for v in values:
        producer.send(settings.topic("mentions.raw"), v, key=key)
    producer.flush()
    producer.close()


def search(settings: Settings, **query: object) -> list[dict[str, object]]:
    es = es_admin.client(settings.es_url)
    alias = documents.read_alias(settings.index_prefix)
    if not es.indices.exists_alias(name=alias):
        return []
    es.indices.refresh(index=alias)
    resp = es.search(index=alias, query=query or {"match_all": {}}, size=100)
    return [h["_source"] | {"_id": h["_id"]} for h in resp["hits"]["hits"]]


@pytest.fixture
def pipeline(lc: Settings, processes: Processes) -> Settings:
    processes.start("worker", "worker")
    processes.start("indexer", "indexer")
    return lc


def test_a_mention_is_scored_and_searchable(pipeline: Settings) -> None:
    m = mention("@SkywayAir lost my bag again and nobody answers the phone")
    produce(pipeline, m.to_json(), key=m.id.encode())
    docs = wait_for(lambda: search(pipeline, term={"id": m.id}), timeout=90, what="the mention in Elasticsearch")
    doc = docs[0]
    assert doc["_id"] == m.id
    assert doc["sentiment"] == "negative"
    assert "baggage" in doc["categories"]
    assert doc["lexicon_version"]


def test_malformed_message_is_dead_lettered_and_the_pipeline_goes_on(pipeline: Settings) -> None:
    produce(pipeline, b"{not json", json.dumps({"id": "x:1", "text": "no platform"}).encode())
    good = mention("Thanks @SkywayAir, the crew was wonderful today")
    produce(pipeline, good.to_json())
    wait_for(lambda: search(pipeline, term={"id": good.id}), timeout=90, what="the valid mention after bad ones")

    consumer = KafkaConsumer(pipeline.topic("mentions.deadletter"), bootstrap_servers=pipeline.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=20000)
    letters = []
    for rec in consumer:
        letters.append(DeadLetter.from_json(rec.value))
        if len(letters) == 2:
            break
    consumer.close()
    reasons = sorted(letter.reason for letter in letters)
    assert any("not valid JSON" in r for r in reasons), reasons
    assert any("missing required field 'platform'" in r for r in reasons), reasons
    assert {letter.original for letter in letters} >= {"{not json"}
    assert all(letter.stage == "worker" and letter.source_offset is not None for letter in letters)


def test_the_same_mention_twice_leaves_one_document(pipeline: Settings) -> None:
    m = mention("@SkywayAir flight delayed three hours, still waiting at the gate")
    produce(pipeline, m.to_json(), m.to_json())
    marker = mention("marker after the duplicates @SkywayAir")
    produce(pipeline, marker.to_json())
    wait_for(lambda: search(pipeline, term={"id": marker.id}), timeout=90, what="the marker mention")
    assert len(search(pipeline, term={"id": m.id})) == 1
