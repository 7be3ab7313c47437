from infra.supervise import RestartPolicy


def test_crash_loop_backs_off_and_a_long_run_resets_it() -> None:
    p = RestartPolicy(first_delay=1, max_delay=8, healthy_after=300)
    p.started("worker", 0)
    assert p.exited("worker", 2) == 1
    assert not p.due("worker", 2.5) and p.due("worker", 3)
    p.started("worker", 3)
    assert p.exited("worker", 4) == 2
    p.started("worker", 6)
    assert p.exited("worker", 7) == 4
    p.started("worker", 11)
    assert p.exited("worker", 12) == 8
    p.started("worker", 20)
    assert p.exited("worker", 21) == 8  # capped
    p.started("worker", 29)
    assert p.exited("worker", 29 + 400) == 0  # ran long enough: restarted at once
    assert p.due("worker", 429)


def test_components_are_independent() -> None:
    p = RestartPolicy()
    p.started("a", 0)
    p.started("b", 0)
    p.exited("a", 1)
    assert not p.due("b", 100)
