"""A brand's detector state as the worker keeps it in its faust table, with the input it already counts.

A restarted worker reads `mentions.scored` again from its committed offset. Without more, the mentions
between the last saved state and the restart were counted twice (a false spike after a restart) or, when
the commit had run ahead of the saved state, never (a missed one). So a snapshot carries, per partition,
the offset of the last mention it includes (`applied`): the worker skips what a restored state already
counted, and lets the commit pass a mention only once a saved state includes it (`Pending`). Pure.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

FORMAT = 2  # 1: the detector's dict alone, before offsets were kept


class RecentIds:
    """The ids of the last `capacity` mentions counted, oldest first.

    Offsets cannot catch every repeat: a worker restart reads mentions.raw again from its held commit, so
    the same mentions are scored and produced to mentions.scored a second time, at new offsets (one fault
    run opened a spike for every brand in the minute of the restart). Mention ids are unique per post."""

    def __init__(self, capacity: int, ids: list[str] | None = None) -> None:
        self.capacity = capacity
        self._ids: dict[str, None] = dict.fromkeys((ids or [])[-capacity:])

    def seen(self, mention_id: str) -> bool:
        """True if this id was counted already; otherwise remember it and return False."""
        if mention_id in self._ids:
            return True
        self._ids[mention_id] = None
        if len(self._ids) > self.capacity:
            del self._ids[next(iter(self._ids))]
        return False

    def to_list(self) -> list[str]:
        return list(self._ids)


def pack(detector: dict[str, Any], applied: dict[int, int], recent: list[str] | None = None) -> str:
    """Compressed text for the table: a brand's state with 15 days of history is ~0.5 MB of JSON."""
    data = {"format": FORMAT, "detector": detector, "applied": {str(p): o for p, o in applied.items()},
            "recent": recent or []}
    return base64.b64encode(zlib.compress(json.dumps(data).encode())).decode("ascii")


def unpack(saved: str) -> tuple[dict[str, Any], dict[int, int], list[str]]:
    data = json.loads(zlib.decompress(base64.b64decode(saved)))
    if data.get("format") != FORMAT:  # a state saved before offsets were kept: it counts, offsets unknown
        return data, {}, []
    return (data["detector"], {int(p): int(o) for p, o in data["applied"].items()},
            [str(i) for i in data.get("recent", [])])


def already_counted(applied: dict[int, int], partition: int, offset: int) -> bool:
    last = applied.get(partition)
    return last is not None and offset <= last


@dataclass
class Pending:
    """Messages counted in a brand's live state but not yet in a saved one: not to be committed past."""

    since: float | None = None  # when the oldest of them was counted
    messages: list[tuple[Hashable, int]] = field(default_factory=list)  # (topic partition, offset)

    def add(self, tp: Hashable, offset: int, now: float) -> None:
        if self.since is None:
            self.since = now
        self.messages.append((tp, offset))

    def due(self, now: float, every: float) -> bool:
        return self.since is not None and now - self.since >= every

    def take(self) -> list[tuple[Hashable, int]]:
        """Everything counted so far, once the state that includes it is saved."""
        taken, self.messages, self.since = self.messages, [], None
        return taken
