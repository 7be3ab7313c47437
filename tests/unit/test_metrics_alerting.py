"""Alert deliveries are counted by channel and outcome as the dispatcher sends (counters are process-wide,
so each test compares before and after)."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import REGISTRY
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.test_alerting_outbox import Clock, Recorder, factory, put, setup, spike

__all__ = ["factory"]  # the fixture, shared with the outbox tests


def deliveries(outcome: str) -> float:
    return REGISTRY.get_sample_value("lc_alert_deliveries_total", {"channel": "hook", "outcome": outcome}) or 0.0


def test_retried_then_sent_and_given_up_are_counted(factory: sessionmaker[Session]) -> None:
    before = {o: deliveries(o) for o in ("sent", "failed", "dead")}
    clock = Clock()
    router, dispatcher = setup(factory, clock, Recorder(failures=1))
    put(factory, router, spike(key="a"), 1, clock.now)
    dispatcher.run_once()
    clock.now += timedelta(seconds=10)
    dispatcher.run_once()
    assert deliveries("failed") - before["failed"] == 1 and deliveries("sent") - before["sent"] == 1

    router, dispatcher = setup(factory, clock, Recorder(failures=99))
    put(factory, router, spike(key="b"), 2, clock.now)
    for _ in range(3):
        dispatcher.run_once()
        clock.now += timedelta(minutes=5)
    assert deliveries("failed") - before["failed"] == 4
    assert deliveries("dead") - before["dead"] == 1
    assert deliveries("sent") - before["sent"] == 1
