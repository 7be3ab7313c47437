"""Stall detection for the stream worker: a partition has input waiting but its committed offset stands still.

Seen in the fault tests: after a worker or broker restart, faust can leave an event of a partition never
processed (its offset is then never committed, so the group's position there stays put while later events
are handled), or stop fetching altogether with no error. At-least-once delivery makes a restart harmless
(the worker reads again from its committed offsets and the writes downstream are idempotent), so the
worker exits with a clear log line and its supervisor (`make run`, systemd, the fault test) starts it
again. Pure: the caller passes the time and, per partition, the committed and the end offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

STALL_EXIT_CODE = 75  # EX_TEMPFAIL: try again


@dataclass
class StallWatch:
    stall_seconds: float = 120.0
    _seen: dict[int, tuple[int, float]] = field(default_factory=dict)

    def check(self, now: float, offsets: Mapping[int, tuple[int, int]]) -> list[int]:
        """Partitions whose committed offset has not moved for `stall_seconds` while messages wait behind it.

        `offsets`: partition -> (committed offset, end offset).
        """
        stalled = []
        for tp, (committed, end) in offsets.items():
            last = self._seen.get(tp)
            if last is None or last[0] != committed or end <= committed:
                self._seen[tp] = (committed, now)
            elif now - last[1] >= self.stall_seconds:
                stalled.append(tp)
        for tp in set(self._seen) - set(offsets):  # no longer ours (rebalanced away)
            del self._seen[tp]
        return stalled
