"""Dashboard latency over a large index: `python -m web.search.bench --docs 1000000`.

Loads generated mention documents straight into monthly indices of their own prefix (bulk, through the
same template and aliases the indexer uses), then times the marketing dashboard's multi-search and the
care search as the console sends them, and prints p50/p95/max. The index is dropped afterwards unless
`--keep`. What is measured is Elasticsearch answering the console's queries, not ingestion.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from elasticsearch import Elasticsearch, helpers

from infra.settings import Settings
from stream import documents, es_admin
from web.search import analytics
from web.search.query import build_search
from web.search.request import DictArgs, parse_analytics, parse_search

END = datetime(2026, 11, 23, tzinfo=UTC)
DAYS = 90
BRANDS = (("skyway", False, 45), ("skyway-vacations", False, 10), ("northwind", True, 29), ("bluejet", True, 16))
PHRASES = ("lost my bag", "flight delayed three hours", "cancelled and no refund", "rude agent at the gate",
           "wifi did not work", "great crew today", "smooth landing thanks", "how do I change my seat",
           "is the lounge open", "booking site keeps timing out", "refund still not here", "upgrade was lovely")
CATEGORIES = ("baggage", "delay", "refunds", "staff", "booking", "cancellation", "wifi", "seats")


@lru_cache(maxsize=4096)
def _stems(text: str) -> str:
    return documents.stems(text)


def generate(n: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    weights = [b[2] for b in BRANDS]
    span = DAYS * 86400
    for i in range(n):
        brand, competitor, _ = rng.choices(BRANDS, weights)[0]
        text = f"{rng.choice(PHRASES)} {rng.choice(PHRASES)} flight {rng.randint(100, 139)}"
        sentiment = rng.choice(("negative", "negative", "neutral", "positive"))
        created = (END - timedelta(seconds=rng.randrange(span))).isoformat().replace("+00:00", "Z")
        yield {
            "id": f"bench:{i}", "platform": rng.choice(("mastodon", "bluesky", "reddit", "rss")), "url": "",
            "author_handle": f"user{rng.randrange(50_000)}", "author_name": "",
            "author_followers": rng.choice((None, rng.randrange(100), rng.randrange(100_000))),
            "text": text, "text_stems": _stems(text), "lang": "en", "brand": brand, "competitor": competitor,
            "matched_rules": [f"{brand}.rule"], "topics": [], "source": "bench", "created_at": created,
            "ingested_at": created, "scored_at": created, "indexed_at": created, "sentiment": sentiment,
            "compound": {"negative": -0.6, "neutral": 0.0, "positive": 0.7}[sentiment], "vader_compound": 0.0,
            "uncertain": False, "lexicon_version": "bench", "categories": rng.sample(CATEGORIES, rng.randint(0, 2)),
            "intent": "complaint" if sentiment == "negative" else "other", "priority": float(rng.randrange(100)),
            "priority_reasons": [], "linked": rng.random() < 0.05, "tier": None,
        }


def load(es: Elasticsearch, prefix: str, n: int) -> float:
    es_admin.ensure_template(es, prefix)
    for back in range(DAYS // 28 + 2):
        month = (END - timedelta(days=28 * back)).strftime("%Y.%m")
        es_admin.ensure_month(es, prefix, month)
    started = time.perf_counter()
    actions = ({"_index": documents.write_alias(prefix, d["created_at"][:7].replace("-", ".")), "_id": d["id"],
                "_source": d} for d in generate(n))
    for ok, item in helpers.parallel_bulk(es, actions, thread_count=2, chunk_size=5000, raise_on_error=False):
        if not ok:
            raise RuntimeError(f"bench document refused: {item}")
    es.indices.refresh(index=documents.read_alias(prefix))
    return time.perf_counter() - started


# (range, interval) as the page asks them; `until` moves by a few minutes each time, as "now" does in the
# console, so Elasticsearch's request cache cannot answer from a previous identical request.
DASHBOARDS = ((timedelta(days=7), "day"), (timedelta(days=30), "day"), (timedelta(days=1), "hour"),
              (timedelta(days=90), "week"))
SEARCHES = ({"q": "delayed bags"}, {"q": "refund -cancelled", "brand": "skyway", "sentiment": "negative"},
            {"brand": "northwind", "sort": "priority"}, {"q": "\"lost my bag\"", "linked": "true"})


def dashboard_args(span: timedelta, interval: str, rng: random.Random) -> dict[str, str]:
    until = END - timedelta(minutes=rng.randrange(1, 600))
    return {"since": (until - span).isoformat(), "until": until.isoformat(), "interval": interval}


def dashboard_once(es: Elasticsearch, alias: str, args: dict[str, str]) -> float:
    req = parse_analytics(DictArgs(args), lambda: END)
    searches: list[dict[str, Any]] = []
    for body in (analytics.brands_body(req), analytics.categories_body(req), analytics.terms_body(req),
                 analytics.authors_body(req)):
        searches += [{"index": alias, "request_cache": False}, body]  # measure the work, not the cache
    started = time.perf_counter()
    answers = es.msearch(searches=searches).body["responses"]
    if any("error" in a for a in answers):
        raise RuntimeError(f"dashboard query failed: {answers}")
    handles = [h for h, _ in analytics.top_handles(answers[3])]
    if handles:  # the page's second round trip: counts of the top authors
        es.search(index=alias, request_cache=False, **analytics.author_counts_body(req, handles))
    return time.perf_counter() - started


def count_once(es: Elasticsearch, alias: str, args: dict[str, str]) -> float:
    """The reference: counting the same range, the least work any dashboard query can do."""
    req = parse_analytics(DictArgs(args), lambda: END)
    started = time.perf_counter()
    es.count(index=alias, query={"bool": {"filter": analytics.base_filter(req)}})
    return time.perf_counter() - started


def search_once(es: Elasticsearch, alias: str, args: dict[str, str]) -> float:
    body = build_search(parse_search(DictArgs(args)))
    started = time.perf_counter()
    es.search(index=alias, request_cache=False, **body)
    return time.perf_counter() - started


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    return (f"{name}: n={len(ms)} p50={statistics.median(ms):.0f} ms p95={p95:.0f} ms max={ms[-1]:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.search.bench", description=__doc__)
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=25, help="times each dashboard/search is asked")
    parser.add_argument("--prefix", default="bench")
    parser.add_argument("--reuse", action="store_true", help="use the already loaded prefix")
    parser.add_argument("--keep", action="store_true", help="keep the indices afterwards")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    es = es_admin.client(settings.es_url, request_timeout=120)
    alias = documents.read_alias(args.prefix)
    try:
        if not args.reuse:
            es_admin.delete_prefix(es, args.prefix)
            seconds = load(es, args.prefix, args.docs)
            print(f"loaded {args.docs} documents in {seconds:.1f} s ({args.docs / seconds:.0f} docs/s, bulk)")
        count = es.count(index=alias)["count"]
        print(f"index {alias}: {count} documents")
        rng = random.Random(7)
        first = dashboard_once(es, alias, dashboard_args(*DASHBOARDS[1], rng))
        print(f"first dashboard of this run: {first * 1000:.0f} ms")
        dash = [dashboard_once(es, alias, dashboard_args(*d, rng)) for _ in range(args.rounds) for d in DASHBOARDS]
        floor = [count_once(es, alias, dashboard_args(*d, rng)) for _ in range(args.rounds) for d in DASHBOARDS]
        care = [search_once(es, alias, dict(s)) for _ in range(args.rounds) for s in SEARCHES]
        print(summary("dashboard (4 aggregations, one msearch)", dash))
        print(summary("care search (query box + filters, 25 hits)", care))
        print(summary("reference: _count of the same ranges", floor))
    finally:
        if not args.keep:
            es_admin.delete_prefix(es, args.prefix)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
