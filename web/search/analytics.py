"""Marketing analytics: request bodies (data) and the plain results read back from the aggregations.

The node has no pipeline aggregations, so share of voice and net sentiment are computed here from the
counts; one aggregation (brand -> time -> sentiment) answers volume, share of voice, sentiment mix and
net sentiment together, so a dashboard costs one round trip for all four.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from web.search.request import AnalyticsRequest, SearchRequest

CALENDAR = {"hour": "1h", "day": "1d", "week": "1w", "month": "1M"}
SENTIMENT_ORDER = ("negative", "neutral", "positive")


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def base_filter(req: AnalyticsRequest, since: datetime | None = None, until: datetime | None = None,
                ) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"range": {"created_at": {
        "gte": (since or req.since).isoformat(), "lt": (until or req.until).isoformat()}}}]
    for name, values in (("brand", req.brands), ("platform", req.platforms), ("lang", req.langs)):
        if values:
            out.append({"terms": {name: list(values)}})
    return out


def _histogram(req: AnalyticsRequest) -> dict[str, Any]:
    return {"field": "created_at", "calendar_interval": CALENDAR[req.interval], "min_doc_count": 0,
            "extended_bounds": {"min": _ms(req.since), "max": _ms(req.until) - 1}}


def net_sentiment(positive: int, negative: int, total: int) -> float:
    """(positive - negative) / total, 0 for no mentions: an empty bucket is not neutral news, it is none."""
    return (positive - negative) / total if total else 0.0


# --- brand volume, share of voice, sentiment mix, net sentiment ---------------------------------------

def brands_body(req: AnalyticsRequest) -> dict[str, Any]:
    sentiment = {"terms": {"field": "sentiment", "size": len(SENTIMENT_ORDER)}}
    return {
        "size": 0,
        "query": {"bool": {"filter": base_filter(req)}},
        "aggs": {"brands": {
            "terms": {"field": "brand", "size": 50},
            "aggs": {
                "competitor": {"max": {"field": "competitor"}},
                # the brand's own mix is the sum of its points: one sentiment pass per document, not two
                "over_time": {"date_histogram": _histogram(req), "aggs": {"sentiment": sentiment}},
            },
        }},
    }


@dataclass
class Point:
    start: datetime
    count: int
    sentiment: dict[str, int]

    @property
    def net(self) -> float:
        return net_sentiment(self.sentiment["positive"], self.sentiment["negative"], self.count)


@dataclass
class BrandSeries:
    brand: str
    competitor: bool
    total: int
    sentiment: dict[str, int]
    points: list[Point]
    share: float = 0.0

    @property
    def net(self) -> float:
        return net_sentiment(self.sentiment["positive"], self.sentiment["negative"], self.total)


def _sentiments(agg: dict[str, Any]) -> dict[str, int]:
    counts = dict.fromkeys(SENTIMENT_ORDER, 0)
    for b in agg["buckets"]:
        counts[b["key"]] = b["doc_count"]
    return counts


def _start(bucket: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(bucket["key"] / 1000, UTC)


def read_brands(resp: dict[str, Any]) -> list[BrandSeries]:
    """Own brands first, then competitors, each group by volume."""
    if "aggregations" not in resp:  # no index yet: nothing was ever ingested
        return []
    series = []
    for b in resp["aggregations"]["brands"]["buckets"]:
        points = [Point(_start(p), p["doc_count"], _sentiments(p["sentiment"])) for p in b["over_time"]["buckets"]]
        mix = {s: sum(p.sentiment[s] for p in points) for s in SENTIMENT_ORDER}
        series.append(BrandSeries(brand=b["key"], competitor=bool(b["competitor"]["value"]), total=b["doc_count"],
                                  sentiment=mix, points=points))
    everything = sum(s.total for s in series)
    for s in series:
        s.share = s.total / everything if everything else 0.0
    return sorted(series, key=lambda s: (s.competitor, -s.total, s.brand))


# --- categories over time -------------------------------------------------------------------------------

CATEGORY_BUCKETS = 100  # more than the taxonomy has, so per-interval counts are exact and totals add up


def categories_body(req: AnalyticsRequest) -> dict[str, Any]:
    # Totals are summed from the intervals in Python: one pass over the documents instead of two.
    terms = {"terms": {"field": "categories", "size": CATEGORY_BUCKETS}}
    return {
        "size": 0,
        "query": {"bool": {"filter": base_filter(req)}},
        "aggs": {"over_time": {"date_histogram": _histogram(req), "aggs": {"categories": terms}}},
    }


@dataclass
class CategoryTimeline:
    categories: list[str]  # by total, the biggest first
    totals: dict[str, int]
    points: list[tuple[datetime, dict[str, int]]] = field(default_factory=list)


def read_categories(resp: dict[str, Any], size: int = 10) -> CategoryTimeline:
    """The `size` biggest categories of the period, and their count in every interval."""
    if "aggregations" not in resp:
        return CategoryTimeline([], {})
    buckets = resp["aggregations"]["over_time"]["buckets"]
    totals: dict[str, int] = {}
    for p in buckets:
        for b in p["categories"]["buckets"]:
            totals[b["key"]] = totals.get(b["key"], 0) + b["doc_count"]
    names = sorted(totals, key=lambda k: (-totals[k], k))[:size]
    points = []
    for p in buckets:
        counts = dict.fromkeys(names, 0)
        for b in p["categories"]["buckets"]:
            if b["key"] in counts:
                counts[b["key"]] = b["doc_count"]
        points.append((_start(p), counts))
    return CategoryTimeline(names, {k: totals[k] for k in names}, points)


# --- unusual terms: this period against the one before ------------------------------------------------

def terms_body(req: AnalyticsRequest) -> dict[str, Any]:
    before_since, before_until = req.previous
    return {
        "size": 0,
        "query": {"bool": {"filter": base_filter(req)}},
        "aggs": {"sample": {
            # significant_text re-analyses _source: a sample of the best matches keeps it fast.
            "sampler": {"shard_size": 1000},
            "aggs": {"terms": {"significant_text": {
                "field": "text", "size": req.size, "min_doc_count": 3, "filter_duplicate_text": True,
                "background_filter": {"bool": {"filter": base_filter(req, before_since, before_until)}},
            }}},
        }},
    }


@dataclass(frozen=True)
class Term:
    term: str
    count: int  # mentions in this period
    background: int  # mentions in the previous period
    score: float


def read_terms(resp: dict[str, Any]) -> list[Term]:
    if "aggregations" not in resp:
        return []
    buckets = resp["aggregations"]["sample"]["terms"]["buckets"]
    return [Term(b["key"], b["doc_count"], b["bg_count"], b["score"]) for b in buckets]


# --- top authors by reach -----------------------------------------------------------------------------

def authors_body(req: AnalyticsRequest) -> dict[str, Any]:
    """Step 1: the authors with the most followers, one hit each (field collapsing).

    A terms aggregation ordered by max followers would build a bucket for every author of the period;
    sorting by followers and collapsing on the handle reads the top of a sorted field instead.
    """
    return {
        "size": req.size,
        "query": {"bool": {"filter": [*base_filter(req), {"exists": {"field": "author_followers"}}]}},
        "sort": [{"author_followers": "desc"}, {"author_handle": "asc"}],
        "collapse": {"field": "author_handle"},
        "_source": False,
        "fields": ["author_handle", "author_followers"],
        "track_total_hits": False,
    }


def author_counts_body(req: AnalyticsRequest, handles: list[str]) -> dict[str, Any]:
    """Step 2: mention and negative counts of just those authors in the period."""
    return {
        "size": 0,
        "query": {"bool": {"filter": [*base_filter(req), {"terms": {"author_handle": handles}}]}},
        "aggs": {"authors": {"terms": {"field": "author_handle", "size": max(1, len(handles))},
                             "aggs": {"negative": {"filter": {"term": {"sentiment": "negative"}}}}}},
    }


@dataclass(frozen=True)
class Author:
    handle: str
    reach: int  # followers, the most seen in the period
    mentions: int
    negative: int


def top_handles(resp: dict[str, Any]) -> list[tuple[str, int]]:
    return [(h["fields"]["author_handle"][0], int(h["fields"]["author_followers"][0]))
            for h in resp["hits"]["hits"]]


def read_authors(top: list[tuple[str, int]], counts: dict[str, Any]) -> list[Author]:
    found = {b["key"]: (b["doc_count"], b["negative"]["doc_count"])
             for b in counts.get("aggregations", {}).get("authors", {}).get("buckets", [])}
    return [Author(handle, reach, *found.get(handle, (0, 0))) for handle, reach in top]


# --- drill-down: the mentions behind a bar or a point -------------------------------------------------

def drill_down(req: AnalyticsRequest, brand: str | None = None, start: datetime | None = None,
               end: datetime | None = None, sentiment: str | None = None, category: str | None = None,
               ) -> SearchRequest:
    """The search that lists exactly the mentions a chart element counted."""
    return SearchRequest(
        brands=(brand,) if brand else req.brands, platforms=req.platforms, langs=req.langs,
        sentiments=(sentiment,) if sentiment else (), categories=(category,) if category else (),
        since=max(start, req.since) if start else req.since, until=min(end, req.until) if end else req.until,
    )
