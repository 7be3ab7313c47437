"""The worker's commit guard: a source record is never committed past unless this process processed it."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.consumer import Consumer, ThreadDelegateConsumer
from faust.types import TP
from intervaltree import IntervalTree

from stream import faust_fixes
from stream.commit_guard import CommitGuard

RAW = TP("mentions.raw", 1)
OTHER = TP("something-changelog", 0)


# --- the pure guard -------------------------------------------------------------------------------------

def test_the_commit_follows_the_contiguous_run_of_processed_offsets() -> None:
    g: CommitGuard[TP] = CommitGuard()
    g.reset(RAW, 100, 0)
    assert g.commit_offset(RAW) is None  # nothing processed yet
    for o in (100, 101, 102, 104, 105):
        g.processed(RAW, o)
    assert g.commit_offset(RAW) == 103  # 103 is a hole: 104 and 105 wait behind it
    assert g.commit_offset(RAW) is None  # no progress, nothing to commit
    assert g.hole(RAW) == 103
    g.processed(RAW, 103)
    assert g.commit_offset(RAW) == 106
    assert g.hole(RAW) is None


def test_records_that_never_reached_the_agent_are_never_committed_past() -> None:
    # The state of the lossy fault run: committed 191, the restarted worker never saw 191 and 192 but
    # processed the rest; stock faust committed past both. The guard waits (and the watchdog restarts).
    g: CommitGuard[TP] = CommitGuard()
    g.reset(RAW, 191, 0)
    for o in range(193, 260):
        g.processed(RAW, o)
    assert g.commit_offset(RAW) is None
    assert g.holes() == {RAW: 191}


def test_a_group_without_a_commit_starts_at_the_log_start() -> None:
    g: CommitGuard[TP] = CommitGuard()
    assert g.reset(RAW, None, 0) == 0
    g.processed(RAW, 0)
    g.processed(RAW, 1)
    assert g.commit_offset(RAW) == 2
    # Retention removed the records below 500: the consumer resets there, and so does the guard.
    assert g.reset(TP("mentions.raw", 2), 120, 500) == 500
    assert g.reset(TP("mentions.raw", 3), None, 500) == 500


def test_a_seek_back_keeps_what_was_processed_above_it() -> None:
    g: CommitGuard[TP] = CommitGuard()
    g.reset(RAW, 10, 0)
    for o in (12, 13):
        g.processed(RAW, o)
    g.reset(RAW, 10, 0)  # flow stopped and faust sought back to the committed offset
    g.processed(RAW, 10)
    g.processed(RAW, 11)
    assert g.commit_offset(RAW) == 14


def test_offsets_below_the_base_and_unassigned_partitions_are_ignored() -> None:
    g: CommitGuard[TP] = CommitGuard()
    g.processed(RAW, 5)  # never reset: not ours through a seek
    assert g.commit_offset(RAW) is None
    g.reset(RAW, 10, 0)
    g.processed(RAW, 9)
    assert g.commit_offset(RAW) is None
    g.forget([RAW])
    assert g.commit_offset(RAW) is None


# --- wired into faust -----------------------------------------------------------------------------------

def bare(cls: Any, **attrs: Any) -> Any:
    """An instance of a faust consumer class with only the attributes a test sets (no service start)."""
    concrete = type("Bare", (cls,), {name: lambda *a, **k: None for name in cls.__abstractmethods__})
    c: Any = object.__new__(concrete)
    c.__dict__.update(attrs)
    return c


def consumer(committed: int, acked: list[int]) -> Any:
    return bare(Consumer, _acked=defaultdict(list, {RAW: list(acked)}),
                _acked_index=defaultdict(set, {RAW: set(acked)}), _gap=defaultdict(IntervalTree),
                _committed_offset=defaultdict(lambda: None, {RAW: committed}))


def message(tp: TP, offset: int) -> Any:
    return SimpleNamespace(tp=tp, topic=tp.topic, offset=offset)


@pytest.fixture
def fixed() -> None:
    faust_fixes.install([RAW.topic])
    faust_fixes.guard.forget([RAW, OTHER])


def test_stock_faust_commits_past_records_it_never_saw() -> None:
    # Why the guard exists: offset 100 was never acked, yet faust alone commits 111.
    assert faust_fixes.stock_new_offset(consumer(100, list(range(101, 111))), RAW) == 111
    # And with a read gap recorded for 101 (offsets jumped from 99 to 102), past 100 and 101.
    c = consumer(100, list(range(102, 110)))
    c._gap[RAW].addi(101, 102)
    assert faust_fixes.stock_new_offset(c, RAW) == 110


@pytest.mark.usefixtures("fixed")
def test_wired_the_commit_is_the_guards_not_fausts() -> None:
    c = consumer(100, list(range(101, 111)))  # faust's ack list: 100 never acked
    faust_fixes.guard.reset(RAW, 100, 0)
    for o in range(101, 111):
        faust_fixes.processed(message(RAW, o))
    assert Consumer._new_offset(c, RAW) is None  # faust would commit 111; 100 was never processed
    faust_fixes.processed(message(RAW, 100))
    assert Consumer._new_offset(c, RAW) == 111


@pytest.mark.usefixtures("fixed")
def test_unguarded_topics_keep_fausts_commit() -> None:
    c = consumer(100, [])
    c._acked[OTHER] = [0, 1, 2]
    c._acked_index[OTHER] = {0, 1, 2}
    assert Consumer._new_offset(c, OTHER) == 3


@pytest.mark.usefixtures("fixed")
def test_seek_to_committed_resets_the_guard_and_seeks_where_aiokafka_does_not() -> None:
    seeks: list[tuple[TP, int]] = []

    async def seek_to_committed() -> dict[TP, int | None]:
        return {RAW: None, TP("mentions.raw", 2): 40, OTHER: 7}

    async def earliest_offsets(*tps: TP) -> dict[TP, int]:
        assert set(tps) == {RAW, TP("mentions.raw", 2)}
        return {tp: 0 for tp in tps}

    thread = SimpleNamespace(seek_to_committed=seek_to_committed, earliest_offsets=earliest_offsets,
                             seek=lambda tp, offset: seeks.append((tp, offset)))
    c = bare(ThreadDelegateConsumer, _thread=thread)
    asyncio.run(ThreadDelegateConsumer.seek_to_committed(c))
    assert seeks == [(RAW, 0)]  # no commit yet: aiokafka would leave the position where it was
    faust_fixes.guard.processed(TP("mentions.raw", 2), 40)
    assert faust_fixes.guard.commit_offset(TP("mentions.raw", 2)) == 41
    faust_fixes.guard.forget([TP("mentions.raw", 2)])
