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


def install() -> None:
    global _installed
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
        return result

    def new_offset(self: Consumer, tp: Any) -> int | None:
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
