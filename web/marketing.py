"""Marketing: the brand against its competitors over time, as pictures, with a way down to the mentions.

The dashboard asks Elasticsearch once (a multi-search of the four analytics bodies) and draws server-side
SVG; every point, bar and segment is a link to the mentions it counts (`/marketing/mentions`, which
marketing.js opens in a panel beside the charts).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, render_template, request, url_for

from web.api import es, read_alias, run, top_authors
from web.context import console
from web.search import analytics
from web.search.charts import SENTIMENT_COLORS, Chart, Value, line_chart, stacked_bars, stacked_columns
from web.search.query import build_search
from web.search.request import (
    INTERVALS,
    SENTIMENTS,
    AnalyticsRequest,
    DictArgs,
    RequestError,
    SearchRequest,
    parse_analytics,
    parse_search,
    search_params,
)
from web.search.results import read_page
from web.security import roles

bp = Blueprint("marketing", __name__, url_prefix="/marketing")
ANALYSTS = ("marketing", "supervisor", "admin")
STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}


def _end(start: datetime, interval: str) -> datetime:
    if interval == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start + STEP[interval]


def drill(req: AnalyticsRequest, **where: Any) -> str:
    return url_for("marketing.mentions", **search_params(analytics.drill_down(req, **where)))


def dashboard(req: AnalyticsRequest) -> dict[str, Any]:
    bodies = [analytics.brands_body(req), analytics.categories_body(req), analytics.terms_body(req),
              analytics.authors_body(req)]
    searches: list[dict[str, Any]] = []
    for body in bodies:
        searches += [{"index": read_alias(), "ignore_unavailable": True, "allow_no_indices": True}, body]
    answers = es().msearch(searches=searches).body["responses"]
    for answer in answers:
        if "error" in answer:
            raise RequestError(f"Search could not run this view: {answer['error'].get('reason', 'unknown')}")
    brands = analytics.read_brands(answers[0])
    categories = analytics.read_categories(answers[1], req.size)
    terms = analytics.read_terms(answers[2])
    authors = top_authors(req, answers[3])

    starts = [p.start for p in brands[0].points] if brands else [t for t, _ in categories.points]

    def point(b: analytics.BrandSeries, p: analytics.Point, value: float, what: str) -> Value:
        return Value(value, drill(req, brand=b.brand, start=p.start, end=_end(p.start, req.interval)),
                     f"{b.brand}, {p.start:%Y-%m-%d %H:%M}: {what}")

    charts: dict[str, Chart] = {
        "volume": line_chart(starts, req.interval, [
            (b.brand, [point(b, p, p.count, f"{p.count} mentions") for p in b.points]) for b in brands]),
        "net": line_chart(starts, req.interval, [
            (b.brand, [point(b, p, p.net, f"net sentiment {p.net:+.2f} of {p.count}") for p in b.points])
            for b in brands], y_range=(-1.0, 1.0)),
        "share": stacked_bars([("Share of voice", [
            (b.brand, Value(b.total, drill(req, brand=b.brand), f"{b.brand}: {b.share:.1%} ({b.total})"))
            for b in brands])]),
        "sentiment": stacked_bars([(b.brand, [
            (s, Value(b.sentiment[s], drill(req, brand=b.brand, sentiment=s),
                      f"{b.brand}: {b.sentiment[s]} {s} ({b.sentiment[s] / b.total if b.total else 0:.0%})"))
            for s in SENTIMENTS]) for b in brands], colors=SENTIMENT_COLORS),
        "categories": stacked_columns([t for t, _ in categories.points], req.interval, [
            [(c, Value(n, drill(req, category=c, start=t, end=_end(t, req.interval)),
                       f"{c}, {t:%Y-%m-%d %H:%M}: {n}")) for c, n in counts.items()]
            for t, counts in categories.points]),
    }
    return {"brands": brands, "charts": charts, "terms": terms, "authors": authors, "categories": categories}


def _form(req: AnalyticsRequest | None) -> dict[str, str]:
    if req is None:
        return {"since": "", "until": "", "interval": "day"}
    return {"since": req.since.strftime("%Y-%m-%dT%H:%M"), "until": req.until.strftime("%Y-%m-%dT%H:%M"),
            "interval": req.interval}


@bp.get("/")
@roles(*ANALYSTS)
def index() -> tuple[str, int]:
    try:
        req = parse_analytics(request.args, console().clock)
        data = dashboard(req)
    except RequestError as exc:
        return render_template("marketing.html", error=str(exc), form=_form(None), intervals=INTERVALS,
                               data=None, req=None, csv={}), 400
    kept = {"since", "until", "interval", "brand", "platform", "lang"}
    query: dict[str, Any] = {k: v for k, v in request.args.items() if k in kept}
    csv = {view: url_for("api.export_view", view=view, **query) for view in ("brands", "categories", "terms",
                                                                               "authors")}
    csv["mentions"] = url_for("api.export_mentions", **search_params(analytics.drill_down(req)))
    return render_template("marketing.html", error="", form=_form(req), intervals=INTERVALS, data=data, req=req,
                           csv=csv, drill=lambda **kw: drill(req, **kw)), 200


@bp.get("/mentions")
@roles(*ANALYSTS)
def mentions() -> tuple[str, int]:
    """The mentions behind a chart element (also what marketing.js loads into its panel)."""
    template = "marketing_mentions_list.html" if request.args.get("partial") == "1" else "marketing_mentions.html"
    args = {k: request.args.getlist(k) for k in request.args if k != "partial"}
    try:
        req: SearchRequest = parse_search(DictArgs(args))
        page = read_page(run(build_search(req)), req)
    except RequestError as exc:
        return render_template(template, error=str(exc), page=None, params={}), 400
    params = search_params(req)
    more = url_for("marketing.mentions", **params, after=page.next) if page.next else ""
    return render_template(template, error="", page=page, params=params, more=more,
                           csv=url_for("api.export_mentions", **params)), 200
