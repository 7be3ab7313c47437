"""The worker's fixes to faust's offset bookkeeping: a skipped event is never committed past."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.consumer import Consumer
from faust.types import TP
from intervaltree import IntervalTree

from stream import faust_fixes
from stream.faust_fixes import commit_limit

RAW = TP("mentions.raw", 1)


def test_commit_limit_stops_at_the_lowest_skipped_offset() -> None:
    assert commit_limit(151, [], 100) == 151
    assert commit_limit(151, [120, 130], 100) == 120
    assert commit_limit(151, [100], 100) is None  # the next offset to read was skipped: no progress
    assert commit_limit(151, [90], 100) == 151  # below the commit: processed under another assignment
    assert commit_limit(151, [160], 100) == 151  # not reached yet
    assert commit_limit(None, [120], 100) is None
    assert commit_limit(5, [0], None) == 0


def consumer(committed: int, acked: list[int]) -> Any:
    """A bare faust Consumer holding only the bookkeeping `_new_offset` reads."""
    bare = type("Bare", (Consumer,), {name: lambda *a, **k: None for name in Consumer.__abstractmethods__})
    c: Any = object.__new__(bare)
    c._acked = defaultdict(list, {RAW: list(acked)})
    c._acked_index = defaultdict(set, {RAW: set(acked)})
    c._gap = defaultdict(IntervalTree)
    c._committed_offset = defaultdict(lambda: None, {RAW: committed})
    return c


@pytest.fixture
def fixed() -> None:
    faust_fixes.install()
    faust_fixes._skipped.clear()


def test_stock_faust_commits_past_one_missing_offset_at_the_head() -> None:
    # Why the fix exists: offset 100 was never acked, yet faust alone would commit 111.
    assert faust_fixes.stock_new_offset(consumer(100, list(range(101, 111))), RAW) == 111


@pytest.mark.usefixtures("fixed")
def test_a_skipped_event_holds_the_commit_until_it_is_processed() -> None:
    c = consumer(100, list(range(101, 111)))
    skipped = SimpleNamespace(tracked=False, tp=RAW, offset=100, acked=False)
    assert Consumer.ack(c, skipped) is False
    assert Consumer._new_offset(c, RAW) is None  # 100 is the next to read and was not processed

    # Read again after faust seeks back, and processed this time: the commit moves on.
    c2 = consumer(100, list(range(100, 111)))
    faust_fixes._skipped[RAW].discard(100)
    assert Consumer._new_offset(c2, RAW) == 111


@pytest.mark.usefixtures("fixed")
def test_a_skipped_event_in_the_middle_caps_the_commit_there() -> None:
    faust_fixes._skipped[RAW].add(105)
    c = consumer(100, list(range(100, 105)) + list(range(106, 120)))
    assert Consumer._new_offset(c, RAW) == 105
    c._committed_offset[RAW] = 105
    assert Consumer._new_offset(c, RAW) is None  # faust alone would now commit 120, past the skipped 105
    assert faust_fixes.stock_new_offset(consumer(105, list(range(106, 120))), RAW) == 120
