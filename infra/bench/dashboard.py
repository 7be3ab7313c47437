"""Dashboard response time over a large index (issue 6: p95 under 500 ms over a million mentions).

Loads generated mention documents into monthly indices of a fresh prefix through the same template and
aliases the indexer uses (`web.search.bench.load`: bulk, two threads), then asks the marketing page's
multi-search (brands, categories, unusual terms, top authors, and the authors' counts) and the care
searches as the console sends them, with Elasticsearch's request cache off and `until` moving as "now"
does, so the figure is the work and not a cache. Reference: `_count` of the same ranges, the least work a
dashboard query can do on the same index in the same minutes. The prefix is deleted however the run ends.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial

from infra.bench.progress import bar
from infra.bench.sandbox import new_tag
from infra.bench.stats import Comparison, Summary
from infra.settings import Settings


def _times(what: str, calls: list[Callable[[], float]], progress: bool | None) -> list[float]:
    out = []
    with bar(len(calls), what, unit="query", enabled=progress) as b:
        for call in calls:
            out.append(call())
            b.update(1)
    return out


def dashboard(base: Settings, docs: int, rounds: int, progress: bool | None = None) -> tuple[list[Comparison],
                                                                                              dict[str, float]]:
    from stream import documents, es_admin
    from web.search import bench as search_bench

    prefix = new_tag("dash")
    es = es_admin.client(base.es_url, request_timeout=120)
    alias = documents.read_alias(prefix)
    try:
        with bar(None, f"loading {docs:,} mentions", enabled=progress):
            load_seconds = search_bench.load(es, prefix, docs)
        count = int(es.count(index=alias)["count"])
        if count != docs:
            raise RuntimeError(f"dashboard: {docs} documents loaded but {count} are searchable")
        rng = random.Random(7)
        args = [search_bench.dashboard_args(*d, rng) for _ in range(rounds) for d in search_bench.DASHBOARDS]
        first = search_bench.dashboard_once(es, alias, args[0])  # a cold start is its own figure, not a sample
        dash = _times("dashboard", [partial(search_bench.dashboard_once, es, alias, a) for a in args], progress)
        floor = _times("_count", [partial(search_bench.count_once, es, alias, a) for a in args], progress)
        care = _times("care search", [partial(search_bench.search_once, es, alias, dict(s))
                                      for _ in range(rounds) for s in search_bench.SEARCHES], progress)
    finally:
        es_admin.delete_prefix(es, prefix)
    reference = Summary.timings("_count of the same ranges", floor, note="request cache off")
    stage = f"dashboard ({docs / 1e6:g}M)" if docs >= 100_000 else f"dashboard ({docs:,})"
    return [
        Comparison(stage, Summary.timings("marketing page: 4-view msearch + author counts", dash,
                                          note="goal p95 < 500 ms"), reference),
        Comparison(stage, Summary.timings("care search: query box + filters, 25 hits", care), reference),
    ], {"documents": docs, "load_seconds": round(load_seconds, 1), "load_per_second": round(docs / load_seconds),
        "first_dashboard_ms": round(first * 1000)}
