"""What an incident page shows besides the outbox: counts around the spike and the sample posts, read from
Elasticsearch through the read alias. Thin I/O behind a small interface so the views are tested without
a search engine (tests inject their own `Evidence`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from elasticsearch import Elasticsearch, NotFoundError

from stream import documents
from stream.schema import SpikeAlert, format_time
from web.oncall_chart import Bucket


@dataclass(frozen=True)
class Sample:
    """One sample mention as stored; `text` is untrusted and only ever rendered escaped."""

    id: str
    text: str
    author_handle: str = ""
    platform: str = ""
    url: str = ""
    created_at: str = ""
    sentiment: str = ""


class Evidence(Protocol):
    def counts(self, alert: SpikeAlert, buckets: list[Bucket]) -> list[Bucket]: ...

    def samples(self, ids: list[str]) -> list[Sample]: ...


def count_filters(alert: SpikeAlert) -> list[dict[str, Any]]:
    """The mentions the detector counts for this alert: the brand's (and category's) negative ones for a
    spike, all of them for a silence (a drop to nothing is about volume, not mood)."""
    filters: list[dict[str, Any]] = [{"term": {"brand": alert.brand}}]
    if alert.kind == "spike":
        filters.append({"term": {"sentiment": "negative"}})
    if alert.category:
        filters.append({"term": {"categories": alert.category}})
    return filters


def counts_query(alert: SpikeAlert, buckets: list[Bucket]) -> dict[str, Any]:
    """One search, size 0: a date_range aggregation with exactly our buckets (keyed by position)."""
    ranges = [{"key": str(i), "from": format_time(b.start), "to": format_time(b.end)} for i, b in enumerate(buckets)]
    return {
        "size": 0,
        "query": {"bool": {"filter": count_filters(alert)}},
        "aggs": {"windows": {"date_range": {"field": "created_at", "keyed": True, "ranges": ranges}}},
    }


def _sample(source: dict[str, Any]) -> Sample:
    return Sample(
        id=str(source.get("id", "")), text=str(source.get("text", "")),
        author_handle=str(source.get("author_handle") or ""), platform=str(source.get("platform") or ""),
        url=str(source.get("url") or ""), created_at=str(source.get("created_at") or ""),
        sentiment=str(source.get("sentiment") or ""),
    )


class SearchEvidence:
    def __init__(self, es: Elasticsearch, index_prefix: str) -> None:
        self.es = es
        self.alias = documents.read_alias(index_prefix)

    def counts(self, alert: SpikeAlert, buckets: list[Bucket]) -> list[Bucket]:
        if not buckets:
            return []
        try:
            resp = self.es.search(index=self.alias, ignore_unavailable=True, **counts_query(alert, buckets))
        except NotFoundError:  # nothing indexed yet under this prefix: every window counts zero
            return [replace(b, count=0) for b in buckets]
        # With no index behind the alias yet, ES answers with no shards and no aggregations: all zero.
        found = resp.get("aggregations", {}).get("windows", {}).get("buckets", {})
        return [replace(b, count=int(found.get(str(i), {}).get("doc_count", 0))) for i, b in enumerate(buckets)]

    def samples(self, ids: list[str]) -> list[Sample]:
        """By id, in the alert's order; the alias spans monthly indices, so an ids query, not mget."""
        if not ids:
            return []
        try:
            resp = self.es.search(index=self.alias, query={"ids": {"values": ids}}, size=len(ids),
                                  ignore_unavailable=True)
        except NotFoundError:
            return []
        by_id = {str(hit["_id"]): _sample(hit["_source"]) for hit in resp["hits"]["hits"]}
        return [by_id[i] for i in ids if i in by_id]
