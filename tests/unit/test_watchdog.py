from stream.watchdog import StallWatch


def test_a_partition_stalls_when_messages_wait_and_its_commit_stands_still() -> None:
    w = StallWatch(stall_seconds=60)
    assert w.check(0, {0: (10, 15), 1: (5, 5)}) == []
    assert w.check(59, {0: (10, 20), 1: (5, 5)}) == []
    assert w.check(60, {0: (10, 25), 1: (5, 5)}) == [0]


def test_progress_or_nothing_waiting_resets_the_clock() -> None:
    w = StallWatch(stall_seconds=60)
    w.check(0, {0: (10, 15)})
    assert w.check(50, {0: (11, 15)}) == []  # committed moved
    assert w.check(100, {0: (11, 15)}) == []
    assert w.check(105, {0: (15, 15)}) == []  # caught up: idle is not a stall
    assert w.check(160, {0: (15, 18)}) == []
    assert w.check(165, {0: (15, 18)}) == [0]


def test_partitions_rebalanced_away_are_forgotten() -> None:
    w = StallWatch(stall_seconds=60)
    w.check(0, {0: (10, 15)})
    w.check(30, {})
    assert w.check(70, {0: (10, 15)}) == []  # back again: its clock starts anew
