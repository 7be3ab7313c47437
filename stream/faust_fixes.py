"""A fix for faust-streaming (0.15.x) offset commits that the worker installs before it builds its app.

What the fault tests found (docs/reliability.md): after a worker was killed and restarted, records of
`mentions.raw` that never reached the agent were committed past, and so lost (3 of 5,000 on one `kill -9`;
under load, two consecutive records in each of three partitions). faust decides the commit from its own
ack list, and two of its rules count as done what was never processed:
- `_new_offset` lets one missing offset at the head pass (`min(acked) - committed > 1`), and a jump of two
  or more in read offsets is recorded as a gap that counts as acked (`_add_gap`); after a seek the read
  offset means "next to read", elsewhere "last read", so the first records after a seek that never reach
  the stream (fetched under the previous consumer generation and dropped) are committed past.
- aiokafka's `seek_to_committed` does not seek a partition whose committed offset is None or 0, so a
  second seek in one assignment leaves the consumer wherever it had fetched to.

So for the source topics the worker names, faust's bookkeeping no longer decides the commit: a
`CommitGuard` (stream/commit_guard.py) commits only the contiguous run of offsets the agents reported
done (`processed`) since the partition was sought to its committed offset, and such a partition is
sought there even when aiokafka would not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from faust.transport.consumer import Consumer, ThreadDelegateConsumer
from faust.types import TP

from stream.commit_guard import CommitGuard

log = logging.getLogger("lc.worker")

stock_new_offset = Consumer._new_offset  # faust's own, kept for the tests that show why the fix exists
guard: CommitGuard[TP] = CommitGuard()
_guarded: set[str] = set()
_installed = False


def processed(message: Any) -> None:
    """The agent is done with this record of a guarded topic (its output is sent): it may be committed past.

    Called by the agent itself, not from faust's ack: faust's compiled stream iterator (faust/_cython)
    acks inline, without calling `Consumer.ack`, so a wrapper there never runs."""
    guard.processed(message.tp, message.offset)


def processed_at(tp: Any, offset: int) -> None:
    guard.processed(tp, offset)


def install(topics: Iterable[str] = ()) -> None:
    """Guard the commits of these topics (their offsets must be contiguous: not compacted, no transactions)."""
    global _installed
    _guarded.update(topics)
    if _installed:
        return
    original_new_offset = Consumer._new_offset
    original_seek_to_committed = ThreadDelegateConsumer.seek_to_committed
    original_revoked = Consumer.on_partitions_revoked

    def new_offset(self: Consumer, tp: Any) -> int | None:
        proposed = original_new_offset(self, tp)  # still called: it trims faust's own ack list
        if tp.topic not in _guarded:
            return proposed
        return guard.commit_offset(tp)

    async def seek_to_committed(self: ThreadDelegateConsumer) -> Mapping[Any, int]:
        committed: Mapping[Any, int] = await original_seek_to_committed(self)
        mine = [tp for tp in committed if tp.topic in _guarded]
        if mine:
            earliest = await self.earliest_offsets(*mine)
            for tp in mine:
                offset = committed[tp]
                base = guard.reset(tp, offset, earliest.get(tp, 0))
                log.debug("commit guard: %s[%s] committed %s, counting from %s", tp.topic, tp.partition, offset, base)
                if not offset:  # aiokafka left it where it was (see 3. above): put it where the guard counts
                    await self._seek(tp, base)
        return committed

    async def on_partitions_revoked(self: Consumer, revoked: set[Any]) -> None:
        await original_revoked(self, revoked)
        guard.forget(tp for tp in revoked if tp.topic in _guarded)

    Consumer._new_offset = new_offset  # type: ignore[method-assign]
    ThreadDelegateConsumer.seek_to_committed = seek_to_committed  # type: ignore[method-assign]
    Consumer.on_partitions_revoked = on_partitions_revoked  # type: ignore[method-assign]
    _installed = True
