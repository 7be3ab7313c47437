"""The spike agent's saved state: what it already counts survives a restart, so nothing is counted twice."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime

from stream.spikes import DetectorConfig, SpikeDetector
from stream.spikes.snapshot import Pending, RecentIds, already_counted, pack, unpack

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_a_state_and_its_offsets_round_trip() -> None:
    det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
    det.observe(("skyway", None), T0, True, "m:1", "lost my bag")
    saved = pack(det.to_dict(), {2: 41, 0: 7}, ["m:1"])
    restored, applied, recent = unpack(saved)
    assert applied == {2: 41, 0: 7} and recent == ["m:1"]
    assert SpikeDetector.from_dict(restored, clock=lambda: T0).to_dict() == det.to_dict()


def test_a_state_saved_before_offsets_were_kept_still_restores() -> None:
    det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
    old = base64.b64encode(zlib.compress(json.dumps(det.to_dict()).encode())).decode("ascii")
    restored, applied, recent = unpack(old)
    assert applied == {} and recent == [] and restored == det.to_dict()


def test_what_the_restored_state_counts_is_skipped_and_nothing_else() -> None:
    applied = {1: 100}
    assert already_counted(applied, 1, 99) and already_counted(applied, 1, 100)
    assert not already_counted(applied, 1, 101)
    assert not already_counted(applied, 0, 5)  # a partition it never saw


def test_pending_mentions_are_released_only_when_saved() -> None:
    p = Pending()
    assert not p.due(1000.0, 10.0)
    p.add("tp", 5, now=100.0)
    p.add("tp", 6, now=104.0)
    assert not p.due(109.0, 10.0)
    assert p.due(110.0, 10.0)  # the oldest has waited long enough
    assert p.take() == [("tp", 5), ("tp", 6)]
    assert p.take() == [] and not p.due(1e9, 10.0)



def test_a_mention_scored_twice_is_counted_once_even_across_a_save() -> None:
    recent = RecentIds(3)
    assert not recent.seen("a") and not recent.seen("b")
    assert recent.seen("a")  # the re-scored copy, at a new offset
    restored = RecentIds(3, recent.to_list())  # saved with the state, restored after a restart
    assert restored.seen("b")
    for new in ("c", "d"):
        assert not restored.seen(new)
    assert restored.to_list() == ["b", "c", "d"]  # bounded: the oldest goes first
    assert not restored.seen("a")
