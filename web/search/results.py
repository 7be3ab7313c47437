"""Search hits -> what the API returns, and CSV lines for exports (safe to open in a spreadsheet)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import escape

from web.search.query import build_search
from web.search.request import SearchRequest, encode_cursor

FIELDS = ("id", "created_at", "platform", "brand", "competitor", "author_handle", "author_name",
          "author_followers", "lang", "sentiment", "compound", "intent", "categories", "priority", "linked",
          "tier", "url", "text")


@dataclass(frozen=True)
class Page:
    total: int
    results: list[dict[str, Any]]
    next: str | None  # the `after` token of the next page, None on the last one


def to_result(hit: dict[str, Any]) -> dict[str, Any]:
    src = hit["_source"]
    result = {name: src.get(name) for name in FIELDS}
    fragments = hit.get("highlight", {}).get("text")
    # `snippet` is HTML and always safe: Elasticsearch escaped the highlighted text (encoder html), and
    # without a highlight we escape it here. `text` is the raw post, for textContent only.
    result["snippet"] = " … ".join(fragments) if fragments else str(escape(src.get("text", "")))
    return result


def read_page(resp: dict[str, Any], req: SearchRequest) -> Page:
    hits = resp["hits"]["hits"]
    token = encode_cursor(hits[-1]["sort"]) if len(hits) == req.size and hits else None
    return Page(resp["hits"]["total"]["value"], [to_result(h) for h in hits], token)


def all_hits(search: Callable[[dict[str, Any]], dict[str, Any]], req: SearchRequest,
             page_size: int = 1000) -> Iterator[dict[str, Any]]:
    """Every matching mention, a page at a time (search_after), so an export never holds them all."""
    req = replace(req, size=page_size, highlight=False, after=())
    while True:
        body = build_search(req)
        body["track_total_hits"] = False
        hits = search(body)["hits"]["hits"]
        for hit in hits:
            yield to_result(hit)
        if len(hits) < page_size:
            return
        req = replace(req, after=tuple(hits[-1]["sort"]))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    text = str(value)
    # A cell starting like a formula runs as one in a spreadsheet: posts are untrusted, so defuse it.
    if text[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        text = "'" + text
    return text


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(v) for v in values])
        return buffer.getvalue()

    yield line(header)
    for row in rows:
        yield line(row)


def mention_rows(results: Iterable[dict[str, Any]]) -> Iterator[list[Any]]:
    for r in results:
        yield [r.get(name) for name in FIELDS]
