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
                "sentiment": sentiment,
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
    series = [
        BrandSeries(
            brand=b["key"], competitor=bool(b["competitor"]["value"]), total=b["doc_count"],
            sentiment=_sentiments(b["sentiment"]),
            points=[Point(_start(p), p["doc_count"], _sentiments(p["sentiment"]))
                    for p in b["over_time"]["buckets"]],
        )
        for b in resp["aggregations"]["brands"]["buckets"]
    ]
    everything = sum(s.total for s in series)
    for s in series:
        s.share = s.total / everything if everything else 0.0
    return sorted(series, key=lambda s: (s.competitor, -s.total, s.brand))


# --- categories over time -------------------------------------------------------------------------------

def categories_body(req: AnalyticsRequest) -> dict[str, Any]:
    terms = {"terms": {"field": "categories", "size": req.size}}
    return {
        "size": 0,
        "query": {"bool": {"filter": base_filter(req)}},
        "aggs": {"top": terms, "over_time": {"date_histogram": _histogram(req), "aggs": {"categories": terms}}},
    }


@dataclass
class CategoryTimeline:
    categories: list[str]  # by total, the biggest first
    totals: dict[str, int]
    points: list[tuple[datetime, dict[str, int]]] = field(default_factory=list)


def read_categories(resp: dict[str, Any]) -> CategoryTimeline:
    if "aggregations" not in resp:
        return CategoryTimeline([], {})
    aggs = resp["aggregations"]
    top = [(b["key"], b["doc_count"]) for b in aggs["top"]["buckets"]]
    names = [k for k, _ in top]
    points = []
    for p in aggs["over_time"]["buckets"]:
        counts = dict.fromkeys(names, 0)
        for b in p["categories"]["buckets"]:
            if b["key"] in counts:
                counts[b["key"]] = b["doc_count"]
        points.append((_start(p), counts))
    return CategoryTimeline(names, dict(top), points)


# --- unusual terms: this period against the one before ------------------------------------------------

def terms_body(req: AnalyticsRequest) -> dict[str, Any]:
    before_since, before_until = req.previous
    return {
        "size": 0,
        "query": {"bool": {"filter": base_filter(req)}},
        "aggs": {"sample": {
            # significant_text re-analyses _source: a sample of the best matches keeps it fast.
            "sampler": {"shard_size": 2000},
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
    return {
        "size": 0,
        "query": {"bool": {"filter": [*base_filter(req), {"exists": {"field": "author_followers"}}]}},
        "aggs": {"authors": {
            "terms": {"field": "author_handle", "size": req.size, "shard_size": max(100, req.size * 10),
                      "order": [{"reach": "desc"}, {"_key": "asc"}]},
            "aggs": {"reach": {"max": {"field": "author_followers"}},
                     "negative": {"filter": {"term": {"sentiment": "negative"}}}},
        }},
    }


@dataclass(frozen=True)
class Author:
    handle: str
    reach: int  # followers, the most seen in the period
    mentions: int
    negative: int


def read_authors(resp: dict[str, Any]) -> list[Author]:
    if "aggregations" not in resp:
        return []
    return [Author(b["key"], int(b["reach"]["value"] or 0), b["doc_count"], b["negative"]["doc_count"])
            for b in resp["aggregations"]["authors"]["buckets"]]


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
