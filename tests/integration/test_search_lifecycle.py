"""Index lifecycle on the real Elasticsearch node: examples, mapping roll-out under load, retention."""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch, helpers

from infra.settings import Settings
from stream import documents, es_admin, index_cli
from stream.indexer import Batch, BulkWriter

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def es(lc: Settings) -> Elasticsearch:
    return es_admin.client(lc.es_url)


def all_ids(es: Elasticsearch, prefix: str) -> list[str]:
    alias = documents.read_alias(prefix)
    es.indices.refresh(index=alias)
    return [h["_id"] for h in helpers.scan(es, index=alias, query={"query": {"match_all": {}}}, _source=False)]


def doc(n: int, month: str, text: str = "delayed flight") -> dict[str, Any]:
    example = index_cli.load_examples()["complaint-baggage-linked"]
    d = copy.deepcopy(example)
    d.update(id=f"load:{n}", text=f"{text} {n}", text_stems=documents.stems(f"{text} {n}"),
             created_at=f"{month.replace('.', '-')}-10T12:00:00Z", indexed_at=datetime.now(UTC).isoformat())
    return d


def test_every_example_document_validates_and_strict_mapping_refuses_unknown_fields(
        lc: Settings, es: Elasticsearch) -> None:
    examples = index_cli.load_examples()
    assert len(examples) >= 8
    assert index_cli.index_examples(es, lc.index_prefix, examples) == {}
    assert sorted(all_ids(es, lc.index_prefix)) == sorted(d["id"] for d in examples.values())

    bad = dict(examples["praise-staff"], loyalty_id="RR-123456")  # loyalty IDs must never be indexed
    with pytest.raises(BadRequestError, match="strict_dynamic_mapping_exception"):
        es.index(index=documents.write_alias(lc.index_prefix, "2026.11"), id="bad:1", document=bad)


def test_cli_examples_exit_code(lc: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                ) -> None:
    monkeypatch.setenv("LC_INDEX_PREFIX", lc.index_prefix)
    monkeypatch.setenv("LC_ES_URL", lc.es_url)
    assert index_cli.main(["examples"]) == 0
    assert "indexed 8 example(s)" in capsys.readouterr().out


def test_rollout_under_continuous_indexing_loses_and_doubles_nothing(lc: Settings, es: Elasticsearch) -> None:
    prefix = lc.index_prefix
    es_admin.ensure_template(es, prefix)
    months = ("2026.10", "2026.11")
    for month in months:
        es_admin.ensure_month(es, prefix, month)
    preload = [doc(n, months[n % 2]) for n in range(8_000)]
    helpers.bulk(es, ({"_index": documents.write_alias(prefix, d["created_at"][:7].replace("-", ".")),
                       "_id": d["id"], "_source": d} for d in preload), chunk_size=5000)
    es.indices.refresh(index=documents.read_alias(prefix))

    # The indexer's own writer keeps writing new mentions and re-writing old ones (replays) meanwhile.
    stop = threading.Event()
    acked: set[str] = {d["id"] for d in preload}
    rewritten: dict[str, str] = {}
    errors: list[BaseException] = []

    def ingest() -> None:
        writer = BulkWriter(es, prefix, threading.Event())
        n = 8_000
        try:
            while not stop.is_set():
                batch = Batch()
                for _ in range(200):
                    d = doc(n, months[n % 2], "live")
                    batch.actions[d["id"]] = (documents.write_alias(prefix, months[n % 2]), d)
                    n += 1
                old = doc(n % 8_000, months[(n % 8_000) % 2], "replayed")
                batch.actions[old["id"]] = (documents.write_alias(prefix, months[(n % 8_000) % 2]), old)
                written, dead = writer.write(batch, NOW)
                assert written == len(batch.actions) and not dead
                acked.update(batch.actions)
                rewritten[old["id"]] = old["text"]
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=ingest)
    thread.start()
    try:
        spec = copy.deepcopy(documents.mapping())
        spec["version"] = 2
        spec["mappings"]["properties"]["region"] = {"type": "keyword"}
        done = es_admin.rollout(es, prefix, spec, lambda: datetime.now(UTC))
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    assert [r.month for r in done] == list(months)
    assert all(r.copy.created > 3_000 and not r.copy.failed for r in done)

    ids = all_ids(es, prefix)
    assert len(ids) > len(preload), "live writes went on during the roll-out"
    assert len(ids) == len(set(ids)), "a mention is in the read alias twice"
    assert set(ids) == acked, f"lost {len(acked - set(ids))}, unexpected {len(set(ids) - acked)}"

    aliases = es.indices.get_alias(index=f"{prefix}-mentions-*")
    assert sorted(aliases) == [f"{prefix}-mentions-v2-{m}" for m in months]
    for month in months:
        index = f"{prefix}-mentions-v2-{month}"
        assert aliases[index]["aliases"][documents.write_alias(prefix, month)] == {"is_write_index": True}
        assert documents.read_alias(prefix) in aliases[index]["aliases"]
    # A replay written during the copy is never overwritten by the older copy.
    sample = list(rewritten.items())[:50]
    hits = es.search(index=documents.read_alias(prefix), query={"ids": {"values": [i for i, _ in sample]}},
                     size=len(sample))["hits"]["hits"]
    assert {h["_id"]: h["_source"]["text"] for h in hits} == dict(sample)
    # The new mapping is in force.
    assert es.indices.get_mapping(index=f"{prefix}-mentions-v2-{months[0]}")[
        f"{prefix}-mentions-v2-{months[0]}"]["mappings"]["properties"]["region"] == {"type": "keyword"}


def test_retention_drops_only_months_older_than_kept(lc: Settings, es: Elasticsearch,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    prefix = lc.index_prefix
    es_admin.ensure_template(es, prefix)
    months = ["2025.12", "2026.07", "2026.08", "2026.09", "2026.10", "2026.11", "2026.12"]
    for month in months:
        es_admin.ensure_month(es, prefix, month)
    monkeypatch.setenv("LC_INDEX_PREFIX", prefix)
    monkeypatch.setenv("LC_ES_URL", lc.es_url)

    assert index_cli.main(["retention", "--keep-months", "3", "--dry-run"], clock=lambda: NOW) == 0
    assert "would drop 3" in capsys.readouterr().out
    assert len(es_admin.list_indices(es, prefix)) == len(months)

    assert index_cli.main(["retention", "--keep-months", "3"], clock=lambda: NOW) == 0
    left = [i.month for i in es_admin.list_indices(es, prefix)]
    assert left == ["2026.09", "2026.10", "2026.11", "2026.12"]  # the future month stays
    assert not es.indices.exists_alias(name=documents.write_alias(prefix, "2026.08"))
    assert es.indices.exists_alias(name=documents.write_alias(prefix, "2026.09"))
