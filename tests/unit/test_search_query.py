"""Pure search logic: request validation, query rewriting, bodies, cursors, CSV cells, retention, charts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from stream.es_admin import MonthlyIndex, expired, parse_index
from web.search import analytics
from web.search.charts import Value, line_chart, stacked_bars
from web.search.query import build_search, rewrite
from web.search.request import (
    DictArgs,
    RequestError,
    decode_cursor,
    encode_cursor,
    parse_analytics,
    parse_search,
    search_params,
)
from web.search.results import csv_lines

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("typed", "stemmed", "exact"), [
    ("delayed flights", "delay flight", "delayed flights"),
    ('"lost my bags" -refunds', '"lost my bag" -refund', '"lost my bags" -refunds'),
    ("bag OR luggage", "bag | luggag", "bag | luggage"),
    ("NOT cancelled", "-cancel", "-cancelled"),
    ("delay*", "delay*", "delay*"),
    ('"unclosed phrase', '"unclos phrase"', '"unclosed phrase"'),
    ("wi-fi", '"wi fi"', "wi-fi"),
    ("+-|||", "", ""),
    ("", "", ""),
])
def test_rewrite_keeps_operators_and_stems_words(typed: str, stemmed: str, exact: str) -> None:
    assert rewrite(typed, stem=True) == stemmed
    assert rewrite(typed, stem=False) == exact


def test_search_body_is_data_with_filters_sort_paging_and_escaped_highlight() -> None:
    req = parse_search(DictArgs({"q": "delays", "brand": ["skyway", "northwind"], "sentiment": "negative",
                                 "competitor": "false", "priority_min": "50", "linked": "1", "lang": "en",
                                 "since": "2026-11-01", "author": "@Ana", "sort": "priority", "size": "10"}))
    body = build_search(req)
    filters = body["query"]["bool"]["filter"]
    assert {"terms": {"brand": ["skyway", "northwind"]}} in filters
    assert {"term": {"competitor": False}} in filters
    assert {"range": {"priority": {"gte": 50.0}}} in filters
    assert {"range": {"created_at": {"gte": "2026-11-01T00:00:00+00:00"}}} in filters
    assert {"term": {"author_handle": "Ana"}} in filters
    must = body["query"]["bool"]["must"][0]["bool"]["must"][0]["simple_query_string"]
    assert must["query"] == "delay" and must["fields"] == ["text_stems"] and must["default_operator"] == "and"
    assert body["sort"][0] == {"priority": {"order": "desc", "missing": "_last"}} and body["sort"][-1] == {
        "id": "asc"}
    assert body["highlight"]["encoder"] == "html"
    assert body["size"] == 10 and "search_after" not in body
    json.dumps(body)  # plain data all the way down


def test_cursor_round_trip_and_tampering() -> None:
    token = encode_cursor([1763900000000, "mastodon:1"])
    req = parse_search(DictArgs({"after": token}))
    assert build_search(req)["search_after"] == [1763900000000, "mastodon:1"]
    for bad in ["%%%", encode_cursor([1]), encode_cursor([{"a": 1}, "x"]), encode_cursor([True, "x"])]:
        with pytest.raises(RequestError, match="paging token"):
            decode_cursor(bad, 2)
    with pytest.raises(RequestError, match="paging token"):  # a time cursor reused for priority order
        parse_search(DictArgs({"after": token, "sort": "priority"}))


@pytest.mark.parametrize(("args", "says"), [
    ({"sentiment": "furious"}, "sentiment: 'furious' is not one of"),
    ({"intent": "rant"}, "intent: 'rant' is not one of"),
    ({"priority_max": "nan"}, "priority_max: must be between"),
    ({"priority_min": "-1"}, "priority_min: must be between"),
    ({"size": "0"}, "size: must be between 1 and 100"),
    ({"size": "ten"}, "size: expected a whole number"),
    ({"brand": ",".join(f"b{i}" for i in range(60))}, "brand: at most 50 values"),
    ({"until": "2026-13-01"}, "until: '2026-13-01' is not a date"),
])
def test_invalid_search_requests_say_why(args: dict[str, str], says: str) -> None:
    with pytest.raises(RequestError, match=says):
        parse_search(DictArgs(args))


def test_analytics_request_defaults_and_limits() -> None:
    req = parse_analytics(DictArgs({}), lambda: NOW)
    assert (req.since, req.until, req.interval) == (NOW - timedelta(days=7), NOW, "day")
    assert req.previous == (NOW - timedelta(days=14), NOW - timedelta(days=7))
    with pytest.raises(RequestError, match="too many points"):
        parse_analytics(DictArgs({"since": "2020-01-01", "interval": "hour"}), lambda: NOW)
    with pytest.raises(RequestError, match="since must be before until"):
        parse_analytics(DictArgs({"since": "2026-11-24"}), lambda: NOW)


def test_drill_down_asks_for_exactly_the_bucket() -> None:
    req = parse_analytics(DictArgs({"since": "2026-11-01", "until": "2026-11-15", "platform": "reddit"}),
                          lambda: NOW)
    start = datetime(2026, 11, 3, tzinfo=UTC)
    drill = analytics.drill_down(req, brand="bluejet", start=start, end=start + timedelta(days=1),
                                 sentiment="negative")
    assert search_params(drill) == {"brand": "bluejet", "platform": "reddit", "sentiment": "negative",
                                    "since": "2026-11-03T00:00:00Z", "until": "2026-11-04T00:00:00Z"}
    assert parse_search(DictArgs(search_params(drill))) == drill


def test_read_brands_computes_share_and_net_without_pipeline_aggs() -> None:
    def bucket(key: str, competitor: int, neg: int, pos: int) -> dict[str, object]:
        sentiment = {"buckets": [{"key": "negative", "doc_count": neg}, {"key": "positive", "doc_count": pos}]}
        return {"key": key, "doc_count": neg + pos, "competitor": {"value": competitor}, "sentiment": sentiment,
                "over_time": {"buckets": [{"key": 1762000000000, "doc_count": neg + pos, "sentiment": sentiment}]}}

    resp = {"aggregations": {"brands": {"buckets": [bucket("rival", 1, 1, 5), bucket("us", 0, 3, 1)]}}}
    us, rival = analytics.read_brands(resp)
    assert (us.brand, rival.brand) == ("us", "rival")  # own brand first
    assert us.share == 0.4 and rival.share == 0.6
    assert us.net == -0.5 and rival.points[0].net == pytest.approx(4 / 6)
    assert analytics.net_sentiment(0, 0, 0) == 0.0


def test_csv_cells_defuse_formulas_but_keep_numbers() -> None:
    lines = list(csv_lines(["a", "b", "c"], [["=HYPERLINK(\"x\")", -0.5, ["x", "y"]], ["@SUM(1)", None, "+1"]]))
    assert lines == ["a,b,c\r\n", "\"'=HYPERLINK(\"\"x\"\")\",-0.5,x;y\r\n", "'@SUM(1),,'+1\r\n"]


def test_retention_keeps_the_current_and_previous_months_and_the_future() -> None:
    names = ["lc-mentions-v1-2026.08", "lc-mentions-v2-2026.09", "lc-mentions-v1-2026.10",
             "lc-mentions-v2-2026.11", "lc-mentions-v1-2026.12", "other-mentions-v1-2020.01", "lc-mentions"]
    indices = [i for i in (parse_index(n, "lc") for n in names) if i is not None]
    assert len(indices) == 5
    assert [i.name for i in expired(indices, NOW, 2)] == ["lc-mentions-v1-2026.08", "lc-mentions-v2-2026.09"]
    assert expired(indices, datetime(2027, 1, 5, tzinfo=UTC), 1)[-1] == MonthlyIndex(
        "lc-mentions-v1-2026.12", 1, "2026.12")
    with pytest.raises(ValueError, match="at least 1"):
        expired(indices, NOW, 0)


def test_chart_geometry_puts_every_value_on_the_plot_with_its_link() -> None:
    starts = [datetime(2026, 11, d, tzinfo=UTC) for d in (1, 2, 3)]
    chart = line_chart(starts, "day", [("us", [Value(v, f"/m?{i}", "t") for i, v in enumerate((0, 5, 10))])])
    left, top, right, bottom = chart.plot
    assert [(m.x, m.href) for m in chart.marks] == [(left, "/m?0"), ((left + right) / 2, "/m?1"), (right, "/m?2")]
    assert chart.marks[0].y == bottom and chart.marks[2].y == top
    bars = stacked_bars([("us", [("neg", Value(1, "/n", "")), ("pos", Value(3, "/p", ""))])], width=530)
    assert [m.w for m in bars.marks] == [97.0, 291.0]  # a quarter and three quarters of 530-130-12
