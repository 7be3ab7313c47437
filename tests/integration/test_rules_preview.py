"""The preview over indexed history, on the real Elasticsearch: per-day counts equal counts known by
construction, across a month boundary (two monthly indices behind the read alias) and several scroll pages."""

from __future__ import annotations

import copy
import random
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

from infra.settings import Settings
from listeners.rules_preview import preview_history
from listeners.rules_store import check_rules
from stream import documents, es_admin, index_cli
from stream.schema import format_time

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
DAYS = 7  # 2026-02-25 .. 2026-03-03
CURRENT = """\
version: 1
brands:
  - name: skyway
    rules:
      - id: skyway-1
        query: '@SkywayAir OR "Skyway Air"'
"""
NEW = CURRENT.replace("'@SkywayAir OR \"Skyway Air\"'", "'@SkywayAir OR suitcase*'")
# text -> (matched by CURRENT, matched by NEW): known by construction, not computed by the code under test
TEXTS = {
    "@SkywayAir lost my bag": (True, True),
    "Skyway Air late again": (True, False),
    "my suitcase is gone, no help": (False, True),
    "nice weather over the skyway bridge": (False, False),
}


def make_doc(n: int, text: str, created: datetime) -> dict[str, Any]:
    d = copy.deepcopy(index_cli.load_examples()["complaint-baggage-linked"])
    d.update(id=f"preview:{n}", text=text, text_stems=documents.stems(text), created_at=format_time(created),
             platform="mastodon", lang="en", author_handle=f"user{n % 50}", indexed_at=format_time(created))
    return d


def test_preview_counts_equal_the_counts_known_by_construction(lc: Settings) -> None:
    es: Elasticsearch = es_admin.client(lc.es_url)
    prefix = lc.index_prefix
    es_admin.ensure_template(es, prefix)
    rng = random.Random(11)
    docs, expected_current, expected_new = [], Counter[date](), Counter[date]()
    first_day = (NOW - timedelta(days=DAYS - 1)).date()
    for n in range(7_000):
        back = rng.randrange(0, 10)  # 3 of the 10 days are before the window
        created = datetime.combine(NOW.date() - timedelta(days=back), datetime.min.time(), UTC) + timedelta(
            seconds=rng.randrange(0, 12 * 3600))  # before noon, so today's posts are before NOW too
        text = rng.choice(list(TEXTS))
        docs.append(make_doc(n, text, created))
        if created.date() >= first_day:
            expected_current[created.date()] += TEXTS[text][0]
            expected_new[created.date()] += TEXTS[text][1]
    months = {d["created_at"][:7].replace("-", ".") for d in docs}
    assert months == {"2026.02", "2026.03"}
    for month in months:
        es_admin.ensure_month(es, prefix, month)
    helpers.bulk(es, ({"_index": documents.write_alias(prefix, d["created_at"][:7].replace("-", ".")),
                       "_id": d["id"], "_source": d} for d in docs), chunk_size=2000)
    es.indices.refresh(index=documents.read_alias(prefix))

    current, new = check_rules(CURRENT).rules, check_rules(NEW).rules
    assert current is not None and new is not None
    started = time.perf_counter()
    preview = preview_history(es, prefix, current, new, NOW, DAYS)
    elapsed = time.perf_counter() - started

    assert [d.day for d in preview.days] == [first_day + timedelta(days=i) for i in range(DAYS)]
    assert {d.day: d.current for d in preview.days} == {d: expected_current[d] for d in expected_current}
    assert {d.day: d.new for d in preview.days} == {d: expected_new[d] for d in expected_new}
    in_window = sum(1 for d in docs if d["created_at"][:10] >= first_day.isoformat())
    assert preview.scanned == in_window and not preview.truncated
    assert preview.gained == sum(1 for d in docs if d["created_at"][:10] >= first_day.isoformat()
                                 and d["text"].startswith("my suitcase"))
    assert preview.lost_samples == ["Skyway Air late again"] * len(preview.lost_samples)
    print(f"preview: {preview.scanned} indexed mentions scanned and matched twice in {elapsed:.2f}s "
          f"({preview.scanned / elapsed:,.0f} mentions/s)")


def test_preview_of_a_prefix_with_nothing_indexed_is_all_zeros(lc: Settings) -> None:
    es = es_admin.client(lc.es_url)
    new = check_rules(NEW).rules
    assert new is not None
    preview = preview_history(es, lc.index_prefix, None, new, NOW, 3)
    assert [(d.current, d.new) for d in preview.days] == [(0, 0)] * 3 and preview.scanned == 0
