"""Release timed events at their own pace (times a speed factor) against an injected clock and sleep.

Shared by the demo's live mode and file replay: both hold events with their original times and must
hand them out as if they were happening now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TypeVar

T = TypeVar("T")

Clock = Callable[[], float]  # monotonic seconds
Sleep = Callable[[float], None]


def pace(
    events: Iterable[tuple[datetime, T]],
    clock: Clock,
    sleep: Sleep,
    speed: float | None = 1.0,
) -> Iterator[tuple[datetime, T]]:
    """Yield each event once its offset from the first, divided by `speed`, has passed on `clock`.

    `speed=None` (or 0) means as fast as possible. Events that are late are yielded at once: a slow
    consumer catches up instead of drifting further behind.
    """
    first: datetime | None = None
    began = 0.0
    for when, item in events:
        if speed:
            if first is None:
                first, began = when, clock()
            due = began + (when - first).total_seconds() / speed
            wait = due - clock()
            if wait > 0:
                sleep(wait)
        yield when, item
