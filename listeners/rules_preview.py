"""What a changed rule set would have matched over the indexed history, per day, next to the current one.

The counting is plain code over mention documents (so it is tested without Elasticsearch); `preview_history`
only scrolls the read alias with `helpers.scan` and feeds the documents in. Matching runs the compiled rule
sets in Python, exactly as a listener would, so the numbers are what the queue would have received.

Caveat the page states too: the index holds only what the rules at the time let through, so a widened rule
shows more of the indexed mentions matching (of other brands or other sets), never posts nobody kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol

from listeners.rules.post import Post
from stream.documents import read_alias
from stream.schema import format_time, parse_time

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

FIELDS: Final = ("text", "author_handle", "lang", "platform", "created_at")
MAX_DAYS: Final = 90
DEFAULT_LIMIT: Final = 500_000  # documents; past it the preview says it is partial rather than hang the page


class MatchLike(Protocol):
    @property
    def brand(self) -> str: ...


class RulesLike(Protocol):
    def match(self, post: Post) -> Sequence[MatchLike]: ...


@dataclass
class DayCount:
    day: date
    current: int = 0
    new: int = 0
    gained: int = 0  # matched by the new rules only
    lost: int = 0  # matched by the current rules only

    @property
    def change(self) -> int:
        return self.new - self.current


@dataclass
class Preview:
    days: list[DayCount]
    scanned: int = 0
    truncated: bool = False
    by_brand: dict[str, list[int]] = field(default_factory=dict)  # brand -> [current, new]
    gained_samples: list[str] = field(default_factory=list)
    lost_samples: list[str] = field(default_factory=list)

    @property
    def current(self) -> int:
        return sum(d.current for d in self.days)

    @property
    def new(self) -> int:
        return sum(d.new for d in self.days)

    @property
    def gained(self) -> int:
        return sum(d.gained for d in self.days)

    @property
    def lost(self) -> int:
        return sum(d.lost for d in self.days)


def post_of(doc: Mapping[str, Any]) -> Post:
    """A mention document as the rules see it (the listener passes the platform as the source)."""
    return Post(str(doc.get("text") or ""), author=str(doc.get("author_handle") or ""),
                lang=str(doc.get("lang") or ""), source=str(doc.get("platform") or ""))


def _brands(rules: RulesLike | None, post: Post) -> set[str]:
    if rules is None:
        return set()
    return {m.brand for m in rules.match(post) if m.brand}


def count_days(docs: Iterable[Mapping[str, Any]], current: RulesLike | None, new: RulesLike, first: date,
               last: date, samples: int = 5, limit: int | None = None) -> Preview:
    """Per day from `first` to `last` (UTC, both included, zero-filled): how many documents each rule set
    matches. A document matches a set when any brand of the set (own or competitor) claims it."""
    days = {first + timedelta(days=i): DayCount(first + timedelta(days=i)) for i in range((last - first).days + 1)}
    result = Preview(list(days.values()))
    for doc in docs:
        if limit is not None and result.scanned >= limit:
            result.truncated = True
            break
        result.scanned += 1
        try:
            day = parse_time(str(doc.get("created_at"))).astimezone(UTC).date()
        except ValueError:
            continue
        bucket = days.get(day)
        if bucket is None:
            continue
        post = post_of(doc)
        before, after = _brands(current, post), _brands(new, post)
        bucket.current += bool(before)
        bucket.new += bool(after)
        for brand in before | after:
            pair = result.by_brand.setdefault(brand, [0, 0])
            pair[0] += brand in before
            pair[1] += brand in after
        if after and not before:
            bucket.gained += 1
            if len(result.gained_samples) < samples:
                result.gained_samples.append(post.text)
        elif before and not after:
            bucket.lost += 1
            if len(result.lost_samples) < samples:
                result.lost_samples.append(post.text)
    result.by_brand = dict(sorted(result.by_brand.items()))
    return result


def window(now: datetime, days: int) -> tuple[date, date, datetime, datetime]:
    """The last `days` UTC days up to `now` (today counts as one): first and last day, and the time range."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    last = now.astimezone(UTC).date()
    first = last - timedelta(days=days - 1)
    return first, last, datetime.combine(first, time(), UTC), now.astimezone(UTC)


def scan_history(es: Elasticsearch, prefix: str, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """Every indexed mention created in [start, end], only the fields the rules read."""
    from elasticsearch import NotFoundError, helpers

    query = {"query": {"range": {"created_at": {"gte": format_time(start), "lte": format_time(end)}}}}
    try:
        for hit in helpers.scan(es, index=read_alias(prefix), query=query, _source=list(FIELDS), size=2000,
                                scroll="2m", ignore_unavailable=True):
            yield hit["_source"]
    except NotFoundError:  # nothing indexed yet under this prefix
        return


def preview_history(es: Elasticsearch, prefix: str, current: RulesLike | None, new: RulesLike, now: datetime,
                    days: int = 14, limit: int = DEFAULT_LIMIT) -> Preview:
    first, last, start, end = window(now, days)
    return count_days(scan_history(es, prefix, start, end), current, new, first, last, limit=limit)
