"""Which offset of a source partition may be committed: only past records this process has processed.

Kafka's committed offset is the next record to read after a restart, so committing X promises that every
record below X is done. faust-streaming decides it from its own ack list, which also counts as done what it
inferred rather than saw (a jump in read offsets is recorded as a gap, and one missing offset at the head is
let through), so a record that never reached the agent could be committed past and lost (the fault tests
lost 2 per partition on a worker restart under load: docs/reliability.md). This guard knows only two facts:
where the partition's committed offset stood when this process was given it (`reset`), and which offsets
its agent finished (`processed`). It commits the contiguous run from there and nothing beyond a hole.

Offsets of a source topic are contiguous (its producers are not transactional and it is not compacted:
infra/topics.yaml), so a hole is a record not processed yet. If it is never processed, the commit stands
still and the worker's watchdog restarts the worker, which reads again from the hole (stream/watchdog.py).
Pure and thread-safe; the caller wires it to the consumer (stream/faust_fixes.py).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)  # a topic partition


@dataclass
class _Partition:
    base: int  # every offset below is committed or processed here; the commit may reach this far
    done: set[int] = field(default_factory=set)  # processed offsets at or above base
    committed: int | None = None  # the last offset handed out to commit


class CommitGuard(Generic[K]):
    def __init__(self) -> None:
        self._parts: dict[K, _Partition] = {}
        self._lock = threading.Lock()

    def reset(self, tp: K, committed: int | None, earliest: int) -> int:
        """The consumer was (re)positioned at the partition's committed offset. Returns the new base.

        `committed` is the group's committed offset (None when it has none), `earliest` the partition's log
        start: below it nothing can be read (retention), and a group with no commit starts there."""
        base = earliest if committed is None or committed < earliest else committed
        with self._lock:
            part = self._parts.get(tp)
            if part is None:
                self._parts[tp] = _Partition(base=base, committed=committed)
            else:
                # Processed offsets stay processed (their output was produced before any commit), so a seek
                # back keeps what is already done above the new base.
                part.base = base
                part.done = {o for o in part.done if o >= base}
                part.committed = committed
            return base

    def forget(self, tps: Iterable[K]) -> None:
        """The partitions were revoked: their next owner starts from the committed offset."""
        with self._lock:
            for tp in tps:
                self._parts.pop(tp, None)

    def processed(self, tp: K, offset: int) -> None:
        with self._lock:
            part = self._parts.get(tp)
            if part is not None and offset >= part.base:
                part.done.add(offset)

    def commit_offset(self, tp: K) -> int | None:
        """The offset to commit now (the next record to read), or None when it would not move the commit.

        A partition never reset (not assigned through a seek to its committed offset) commits nothing."""
        with self._lock:
            part = self._parts.get(tp)
            if part is None:
                return None
            base, done = part.base, part.done
            while base in done:
                done.discard(base)
                base += 1
            part.base = base
            if part.committed is not None and base <= part.committed:
                return None
            if part.committed is None and not base:
                return None
            part.committed = base
            return base

    def hole(self, tp: K) -> int | None:
        """The offset the commit waits for while later offsets are done (a record skipped so far), or None."""
        with self._lock:
            part = self._parts.get(tp)
            if part is None or not part.done:
                return None
            return part.base if min(part.done) > part.base else None

    def holes(self) -> dict[K, int]:
        with self._lock:
            tps = list(self._parts)
        return {tp: h for tp in tps if (h := self.hole(tp)) is not None}
