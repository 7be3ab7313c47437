"""The search and analytics JSON API under /api/, used by the console's pages.

Thin: parse and validate the request (web/search/request.py), build the body (web/search/query.py,
analytics.py), ask Elasticsearch, return JSON. A request we cannot answer is a 400 with a sentence; an
unreachable search node is a 503; neither is ever a 500 with a stack trace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch
from flask import Blueprint, Response, jsonify, request, stream_with_context
from flask_login import login_required

from stream import documents, es_admin
from web.context import console
from web.search import analytics
from web.search.query import build_search
from web.search.request import AnalyticsRequest, DictArgs, RequestError, parse_analytics, parse_search
from web.search.results import FIELDS, all_hits, csv_lines, mention_rows, read_page
from web.security import ROLES, roles

bp = Blueprint("api", __name__, url_prefix="/api")
ANALYSTS = ("marketing", "supervisor", "admin")
T = TypeVar("T")


def es() -> Elasticsearch:
    state = console()
    client = state.extra.get("es")
    if client is None:
        client = state.extra["es"] = es_admin.client(state.settings.es_url, max_retries=1, request_timeout=10)
    found: Elasticsearch = client
    return found


def read_alias() -> str:
    return documents.read_alias(console().settings.index_prefix)


def run(body: dict[str, Any]) -> dict[str, Any]:
    # No index yet (nothing ingested) is an empty answer, not an error.
    resp = es().search(index=read_alias(), ignore_unavailable=True, allow_no_indices=True, **body)
    found: dict[str, Any] = resp.body
    return found


@bp.errorhandler(RequestError)
def bad_request(exc: RequestError) -> tuple[Response, int]:
    return jsonify(error=str(exc)), 400


@bp.errorhandler(ESConnectionError)
@bp.errorhandler(ConnectionTimeout)
def unavailable(_exc: Exception) -> tuple[Response, int]:
    return jsonify(error="Search is unavailable right now; try again in a minute."), 503


@bp.errorhandler(ApiError)
def refused(exc: ApiError) -> tuple[Response, int]:
    if exc.meta.status == 400:
        return jsonify(error="Search could not run this request; simplify the query and try again."), 400
    return jsonify(error="Search is unavailable right now; try again in a minute."), 503


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def page_json(args: Any) -> dict[str, Any]:
    req = parse_search(args)
    page = read_page(run(build_search(req)), req)
    return {"total": page.total, "results": page.results, "next": page.next}


@bp.get("/search")
@login_required
@roles(*ROLES)
def search() -> Response:
    return jsonify(page_json(request.args))


@bp.get("/authors/<path:handle>/mentions")
@login_required
@roles(*ROLES)
def author_history(handle: str) -> Response:
    """One author's history, newest first; the other filters still apply."""
    args = {k: request.args.getlist(k) for k in request.args if k != "author"}
    args["author"] = [handle]
    return jsonify(page_json(DictArgs(args)))


def brands_json(req: AnalyticsRequest) -> dict[str, Any]:
    series = analytics.read_brands(run(analytics.brands_body(req)))
    return {
        "since": _iso(req.since), "until": _iso(req.until), "interval": req.interval,
        "brands": [{
            "brand": s.brand, "competitor": s.competitor, "total": s.total, "share": round(s.share, 4),
            "sentiment": s.sentiment, "net": round(s.net, 4),
            "points": [{"start": _iso(p.start), "count": p.count, "sentiment": p.sentiment, "net": round(p.net, 4)}
                       for p in s.points],
        } for s in series],
    }


def categories_json(req: AnalyticsRequest) -> dict[str, Any]:
    timeline = analytics.read_categories(run(analytics.categories_body(req)), req.size)
    return {"since": _iso(req.since), "until": _iso(req.until), "interval": req.interval,
            "categories": timeline.categories, "totals": timeline.totals,
            "points": [{"start": _iso(t), "counts": c} for t, c in timeline.points]}


def terms_json(req: AnalyticsRequest) -> dict[str, Any]:
    before = req.previous
    return {"since": _iso(req.since), "until": _iso(req.until), "baseline": [_iso(before[0]), _iso(before[1])],
            "terms": [t.__dict__ for t in analytics.read_terms(run(analytics.terms_body(req)))]}


def top_authors(req: AnalyticsRequest, top_response: dict[str, Any]) -> list[analytics.Author]:
    top = analytics.top_handles(top_response)
    counts = run(analytics.author_counts_body(req, [h for h, _ in top])) if top else {}
    return analytics.read_authors(top, counts)


def authors_json(req: AnalyticsRequest) -> dict[str, Any]:
    return {"since": _iso(req.since), "until": _iso(req.until),
            "authors": [a.__dict__ for a in top_authors(req, run(analytics.authors_body(req)))]}


VIEWS: dict[str, Callable[[AnalyticsRequest], dict[str, Any]]] = {
    "brands": brands_json, "categories": categories_json, "terms": terms_json, "authors": authors_json,
}


def analytics_request() -> AnalyticsRequest:
    return parse_analytics(request.args, console().clock)


@bp.get("/analytics/<any(brands, categories, terms, authors):view>")
@login_required
@roles(*ANALYSTS)
def analytics_view(view: str) -> Response:
    return jsonify(VIEWS[view](analytics_request()))


def view_rows(view: str, req: AnalyticsRequest) -> tuple[list[str], list[list[Any]]]:
    """An analytics view as a table, for its CSV export."""
    data = VIEWS[view](req)
    if view == "brands":
        header = ["brand", "competitor", "start", "count", "negative", "neutral", "positive", "net", "share"]
        rows = [[b["brand"], b["competitor"], p["start"], p["count"], p["sentiment"]["negative"],
                 p["sentiment"]["neutral"], p["sentiment"]["positive"], p["net"], b["share"]]
                for b in data["brands"] for p in b["points"]]
        return header, rows
    if view == "categories":
        return ["start", "category", "count"], [[p["start"], c, n] for p in data["points"]
                                                for c, n in p["counts"].items()]
    if view == "terms":
        return ["term", "count", "background", "score"], [[t["term"], t["count"], t["background"], t["score"]]
                                                          for t in data["terms"]]
    return ["handle", "reach", "mentions", "negative"], [[a["handle"], a["reach"], a["mentions"], a["negative"]]
                                                         for a in data["authors"]]


def csv_response(lines: Iterator[str], name: str) -> Response:
    return Response(stream_with_context(lines), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.get("/export/mentions.csv")
@login_required
@roles(*ROLES)
def export_mentions() -> Response:
    """Every mention the search matches, streamed page by page (a year of data never sits in memory)."""
    req = parse_search(request.args)  # validated before the first byte, so a bad request is still a 400
    run({"size": 0, "query": build_search(req)["query"]})  # and an unreachable node is still a 503
    return csv_response(csv_lines(FIELDS, mention_rows(all_hits(run, req))), "mentions")


@bp.get("/export/<any(brands, categories, terms, authors):view>.csv")
@login_required
@roles(*ANALYSTS)
def export_view(view: str) -> Response:
    header, rows = view_rows(view, analytics_request())
    return csv_response(csv_lines(header, rows), view)


@bp.get("/openapi.json")
@login_required
@roles(*ROLES)
def openapi() -> Response:
    """This API's description (web/openapi.yaml), for clients and for the schemathesis fuzz test."""
    return jsonify(yaml.safe_load((Path(__file__).parent / "openapi.yaml").read_text(encoding="utf-8")))
