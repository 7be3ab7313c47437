"""The mentions a run measures with: the demo generator's airline-care posts, seeded, so two runs (and the
scoring, Kafka and Elasticsearch stages of one run) see the same texts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from listeners.sources.demo import generate, to_mention
from stream.schema import Mention, format_time

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def mentions(count: int, seed: int = 42, run: str = "bench") -> list[Mention]:
    """`count` demo mentions with brand and topics filled in, ids unique to `run` (so replays stay apart).

    The generator's `normal` day is cycled if more mentions are asked for than it holds.
    """
    out: list[Mention] = []
    for lap in itertools.count():
        posts = generate("normal", seed + lap, START, duration=timedelta(hours=24), per_minute=60)
        for _when, post in posts:
            m = to_mention(post, with_truth=True)
            m.id = f"{run}:{len(out)}"
            m.brand = m.brand or "skyway"
            out.append(m)
            if len(out) == count:
                return out
    raise AssertionError("unreachable")


def texts(count: int, seed: int = 42) -> list[str]:
    return [m.text for m in mentions(count, seed)]


def stamp_now(mention: Mention) -> Mention:
    """created_at = now, so a mention produced live falls in the current month's index and spike bucket."""
    now = format_time(datetime.now(UTC))
    mention.created_at = now
    return mention
