"""How far event time has surely got, for closing spike buckets when mentions arrive out of time order.

Live, mentions reach the worker seconds after they were posted and nearly in order. Catching up on a backlog
(a worker restarted, a topic replayed) is different: the worker reads the partitions of `mentions.raw` in
batches, one partition after another, so a brand's mentions arrive out of time order by as much as a batch
spans (minutes to hours of posts). Closing buckets on the newest post would count the older ones into
whatever bucket is open when they arrive: a false spike. The low watermark is the oldest post time among
the mentions handled in the last few seconds: while catching up, that is how far the slowest partition has
got (every partition delivers a batch within seconds); live, it is a post of a second or two ago.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

LIVE_LATENESS = timedelta(seconds=20)  # behind the low watermark, a straggler still counts in its own bucket
SPAN_SECONDS = 3.0  # processing time over which the oldest post is taken


class LowWatermark:
    """Sliding minimum of post times over the last `span` seconds of processing time (an injected clock)."""

    def __init__(self, span: float = SPAN_SECONDS) -> None:
        self.span = span
        self._window: deque[tuple[float, datetime]] = deque()  # post times increase from left to right

    def add(self, processed_at: float, posted_at: datetime) -> datetime:
        """Record one mention; return the oldest post time seen within the span."""
        window = self._window
        while window and window[-1][1] >= posted_at:
            window.pop()  # never the minimum again while this newer-processed, older-posted one is in the span
        window.append((processed_at, posted_at))
        while window[0][0] < processed_at - self.span:
            window.popleft()
        return window[0][1]
