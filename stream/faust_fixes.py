"""Fixes for faust-streaming (0.15.x) that the worker installs before it builds its app.

1. During a rebalance (a worker killed and restarted, a broker restarted) faust's stream skips events fetched
   under the previous consumer generation or while flow control is off, meaning to read them again after it
   seeks back to the committed offsets; but it acks them on the way out (faust/streams.py, `value is
   skipped_value` in `_py_aiter`), so the next commit moves past them and they are never processed: the fault
   tests lost 3 of 5,000 mentions on one `kill -9` of the worker. An event that was never handed to an agent
   (never tracked) must not be acked; it is read again from the committed offset.
2. Leaving it unacked is not enough: faust's `_new_offset` commits the first run of consecutive acked offsets
   and lets one missing offset at the head pass (`min(acked) - committed > 1`, there to step over a record
   compaction removed), so a single skipped event right at the committed offset was still committed past,
   and lost. The commit now stops at the lowest offset this process skipped and has not processed since; if
   faust never reads it again, the partition's commit stalls and the worker's watchdog restarts the worker,
   which reads it from there (`stream/watchdog.py`). Duplicates downstream are harmless (idempotent writes);
   a loss is not.
3. Under load a restarted worker still lost the first two records after its committed offset on some
   partitions without ever handing them to the stream (docs/reliability.md): faust's off-by-one lets one
   through and its read-offset gap bookkeeping the other. For the topics named at `install`
   (`mentions.raw`) nothing is committed until the record *at* the committed offset has been processed by
   this process: a partition whose next record never reaches the stream stalls instead, and the watchdog
   restarts the worker, which reads it. (Not for compacted topics, whose committed offset may point at a
   record compaction removed.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from faust.transport.consumer import Consumer

_installed = False
stock_new_offset = Consumer._new_offset  # faust's own, kept for the tests that show why the fix exists
# Offsets per partition that were delivered to this process but skipped, not yet processed since.
_skipped: defaultdict[Any, set[int]] = defaultdict(set)
# For the strict topics: offsets processed (acked by an agent) and not yet committed, per partition.
_processed: defaultdict[Any, set[int]] = defaultdict(set)
_strict_topics: set[str] = set()


def commit_limit(proposed: int | None, skipped: Iterable[int], committed: int | None) -> int | None:
    """The offset that may be committed for a partition (Kafka's meaning: the next offset to read).

    `proposed` is what faust would commit, `skipped` the offsets skipped and not processed since, `committed`
    what is committed now. A skipped offset below `committed` was processed under another assignment and no
    longer matters. Returns None when nothing can be committed."""
    if proposed is None:
        return None
    held = [o for o in skipped if o < proposed and (committed is None or o >= committed)]
    if not held:
        return proposed
    limit = min(held)
    if committed is not None and limit <= committed:
        return None
    return limit


def head_processed(committed: int | None, processed: set[int]) -> bool:
    """Whether a commit may move: the record at the committed offset (the next to read) was processed."""
    return committed is None or committed in processed


def install(strict_topics: Iterable[str] = ()) -> None:
    global _installed
    _strict_topics.update(strict_topics)
    if _installed:
        return
    original_ack = Consumer.ack
    original_new_offset = Consumer._new_offset

    def ack(self: Consumer, message: Any) -> bool:
        if not message.tracked:  # skipped in a rebalance: leave it unacked so it is read again
            _skipped[message.tp].add(message.offset)
            return False
        result: bool = original_ack(self, message)
        pending = _skipped.get(message.tp)
        if pending:
            pending.discard(message.offset)
        if message.tp.topic in _strict_topics:
            _processed[message.tp].add(message.offset)
        return result

    def new_offset(self: Consumer, tp: Any) -> int | None:
        if tp.topic in _strict_topics:
            committed = self._committed_offset[tp]
            done = _processed[tp]
            if committed is not None:
                done.difference_update([o for o in done if o < committed])
            if not head_processed(committed, done):
                return None  # faust's acked list stays as it is for the next try
        proposed = original_new_offset(self, tp)
        pending = _skipped.get(tp)
        if not pending:
            return proposed
        committed = self._committed_offset[tp]
        if committed is not None:
            pending.difference_update([o for o in pending if o < committed])
        return commit_limit(proposed, pending, committed)

    Consumer.ack = ack  # type: ignore[method-assign]
    Consumer._new_offset = new_offset  # type: ignore[method-assign]
    _installed = True
