"""Validated search and analytics requests, parsed from query-string parameters.

Everything a person can type is checked here and refused with a sentence they can act on
(`RequestError`), so the query builders only ever see values of the right type and range.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

SENTIMENTS = ("negative", "neutral", "positive")
INTENTS = ("complaint", "question", "praise", "other")
SORTS = ("time", "priority")
INTERVALS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1),
             "month": timedelta(days=30)}
MAX_QUERY_CHARS = 500
MAX_VALUES = 50  # values of one filter: more is a mistake, not a question
MAX_PAGE = 100
MAX_POINTS = 1000  # buckets of one series: more would not fit on a screen anyway
DEFAULT_RANGE = timedelta(days=7)


class RequestError(ValueError):
    """The request cannot be answered as asked; the message says why, for a person."""


class Args(Protocol):
    """What we need of Flask's `request.args` (a MultiDict) or a plain dict of lists in tests."""

    def getlist(self, key: str) -> list[str]: ...


class DictArgs:
    """`Args` over a plain mapping (tests and the page views build requests from dicts)."""

    def __init__(self, data: Mapping[str, str | Sequence[str]]) -> None:
        self.data = data

    def getlist(self, key: str) -> list[str]:
        value = self.data.get(key)
        if value is None:
            return []
        return [value] if isinstance(value, str) else list(value)


def _one(args: Args, name: str) -> str:
    """A single-valued parameter, trimmed ("" when absent)."""
    found = args.getlist(name)
    return found[0].strip() if found else ""


def _values(args: Args, name: str, allowed: Sequence[str] | None = None) -> tuple[str, ...]:
    """Repeated (`brand=a&brand=b`) or comma-separated (`brand=a,b`) values, trimmed, blanks dropped."""
    found: list[str] = []
    for raw in args.getlist(name):
        found += [v.strip() for v in raw.split(",") if v.strip()]
    if len(found) > MAX_VALUES:
        raise RequestError(f"{name}: at most {MAX_VALUES} values, got {len(found)}")
    for v in found:
        if len(v) > 200:
            raise RequestError(f"{name}: a value is longer than 200 characters")
        if allowed is not None and v not in allowed:
            raise RequestError(f"{name}: {v!r} is not one of {', '.join(allowed)}")
    return tuple(dict.fromkeys(found))


def _bool(args: Args, name: str) -> bool | None:
    raw = _one(args, name).lower()
    if raw == "":
        return None
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise RequestError(f"{name}: expected true or false, got {raw!r}")


def _number(args: Args, name: str, low: float, high: float) -> float | None:
    raw = _one(args, name)
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise RequestError(f"{name}: expected a number, got {raw!r}") from None
    if not low <= value <= high:  # also refuses NaN
        raise RequestError(f"{name}: must be between {low:g} and {high:g}, got {raw}")
    return value


def _int(args: Args, name: str, default: int, low: int, high: int) -> int:
    raw = _one(args, name)
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:  # "²".isdigit() is True, and int() refuses it
        raise RequestError(f"{name}: expected a whole number from {low} to {high}, got {raw[:20]!r}")
    value = int(raw)
    if not low <= value <= high:
        raise RequestError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def parse_when(raw: str, name: str) -> datetime:
    """ISO-8601 date or time; a date means midnight UTC, a time without a zone means UTC."""
    text = raw.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RequestError(f"{name}: {raw!r} is not a date (2026-11-23) or time (2026-11-23T14:00:00Z)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _range(args: Args, now: datetime, default: timedelta = DEFAULT_RANGE) -> tuple[datetime, datetime]:
    since_raw, until_raw = _one(args, "since"), _one(args, "until")
    until = parse_when(until_raw, "until") if until_raw else now
    since = parse_when(since_raw, "since") if since_raw else until - default
    if since >= until:
        raise RequestError("since must be before until")
    return since, until


def encode_cursor(sort_values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(sort_values), separators=(",", ":")).encode()).decode()


def decode_cursor(token: str, expected: int) -> list[Any]:
    """The `after` token is ours (from `next`), but it travels through the browser: check its shape."""
    try:
        values = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise RequestError("after: not a paging token from this search; start again from the first page") from None
    if (not isinstance(values, list) or len(values) != expected
            or not all(isinstance(v, int | float | str) and not isinstance(v, bool) for v in values)):
        raise RequestError("after: not a paging token from this search; start again from the first page")
    return values


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    brands: tuple[str, ...] = ()
    competitor: bool | None = None
    platforms: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    priority_min: float | None = None
    priority_max: float | None = None
    linked: bool | None = None
    langs: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    author: str = ""
    sort: str = "time"
    size: int = 25
    after: tuple[Any, ...] = ()
    highlight: bool = True

    @property
    def sort_width(self) -> int:
        return 2 if self.sort == "time" else 3


def parse_search(args: Args) -> SearchRequest:
    q = _one(args, "q")
    if len(q) > MAX_QUERY_CHARS:
        raise RequestError(f"q: the query is {len(q)} characters; at most {MAX_QUERY_CHARS}")
    sort = (_one(args, "sort") or "time")
    if sort not in SORTS:
        raise RequestError(f"sort: {sort!r} is not one of {', '.join(SORTS)}")
    pmin, pmax = _number(args, "priority_min", 0, 100), _number(args, "priority_max", 0, 100)
    if pmin is not None and pmax is not None and pmin > pmax:
        raise RequestError("priority_min must not be above priority_max")
    since_raw, until_raw = _one(args, "since"), _one(args, "until")
    since = parse_when(since_raw, "since") if since_raw else None
    until = parse_when(until_raw, "until") if until_raw else None
    if since and until and since >= until:
        raise RequestError("since must be before until")
    author = _one(args, "author").lstrip("@")
    if len(author) > 200:
        raise RequestError("author: longer than 200 characters")
    request = SearchRequest(
        q=q, brands=_values(args, "brand"), competitor=_bool(args, "competitor"),
        platforms=_values(args, "platform"), sentiments=_values(args, "sentiment", SENTIMENTS),
        categories=_values(args, "category"), intents=_values(args, "intent", INTENTS),
        priority_min=pmin, priority_max=pmax, linked=_bool(args, "linked"), langs=_values(args, "lang"),
        since=since, until=until, author=author, sort=sort, size=_int(args, "size", 25, 1, MAX_PAGE),
    )
    token = _one(args, "after")
    if token:
        request = SearchRequest(**{**request.__dict__, "after": tuple(decode_cursor(token, request.sort_width))})
    return request


@dataclass(frozen=True)
class AnalyticsRequest:
    since: datetime
    until: datetime
    interval: str = "day"
    brands: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    size: int = 10
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def previous(self) -> tuple[datetime, datetime]:
        """The period of the same length just before this one (the baseline for unusual terms)."""
        return self.since - (self.until - self.since), self.since


def parse_analytics(args: Args, clock: Callable[[], datetime]) -> AnalyticsRequest:
    since, until = _range(args, clock())
    interval = (_one(args, "interval") or "day")
    if interval not in INTERVALS:
        raise RequestError(f"interval: {interval!r} is not one of {', '.join(INTERVALS)}")
    points = (until - since) / INTERVALS[interval]
    if points > MAX_POINTS:
        raise RequestError(f"{points:.0f} {interval}s is too many points for one chart (at most {MAX_POINTS}); "
                           "choose a longer interval or a shorter range")
    return AnalyticsRequest(since=since, until=until, interval=interval, brands=_values(args, "brand"),
                            platforms=_values(args, "platform"), langs=_values(args, "lang"),
                            size=_int(args, "size", 10, 1, 100))


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def search_params(req: SearchRequest) -> dict[str, Any]:
    """The query string that asks for `req` again (drill-down links and CSV links); defaults left out."""
    out: dict[str, Any] = {}
    if req.q:
        out["q"] = req.q
    for name, values in (("brand", req.brands), ("platform", req.platforms), ("sentiment", req.sentiments),
                         ("category", req.categories), ("intent", req.intents), ("lang", req.langs)):
        if values:
            out[name] = ",".join(values)
    for name, flag in (("competitor", req.competitor), ("linked", req.linked)):
        if flag is not None:
            out[name] = "true" if flag else "false"
    if req.priority_min is not None:
        out["priority_min"] = f"{req.priority_min:g}"
    if req.priority_max is not None:
        out["priority_max"] = f"{req.priority_max:g}"
    if req.since:
        out["since"] = _iso(req.since)
    if req.until:
        out["until"] = _iso(req.until)
    if req.author:
        out["author"] = req.author
    if req.sort != "time":
        out["sort"] = req.sort
    return out
