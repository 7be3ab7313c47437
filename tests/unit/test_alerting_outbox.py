"""The outbox and delivery loop on a real SQLite file (no network): idempotent ingest, retries, crash
recovery, escalation and acknowledgement, driven by a fake clock and an in-memory channel."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from alerting import incidents
from alerting.ack import make_token
from alerting.delivery import Dispatcher, Links
from alerting.notification import ChannelError, Notification
from alerting.outbox import (
    Acknowledgement,
    AlertRecord,
    Delivery,
    DeliveryAttempt,
    Incident,
    escalate_due,
    history,
    ingest,
)
from alerting.routing import Router, RoutingConfig
from infra.db import make_engine, session_factory, transaction
from stream.schema import SpikeAlert

T0 = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)
ROUTES = {
    "timezone": "UTC",
    "policies": {"p": [{"after_minutes": 0, "targets": ["hook"]},
                       {"after_minutes": 10, "targets": ["hook:boss", "pagerduty"]}]},
    "routes": [{"name": "all", "policy": "p"}],
}


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Recorder:
    """An in-memory channel: records what it was asked to send; fails while `failures` > 0."""

    name: str = "hook"
    failures: int = 0
    retryable: bool = True
    sent: list[Notification] = field(default_factory=list)

    def send(self, notification: Notification) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ChannelError("receiver down", retryable=self.retryable)
        self.sent.append(notification)


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    # db_url: SQLite by default, PostgreSQL in the second run of the suite.
    engine = make_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


def spike(status: str = "open", key: str = "sw:bags") -> bytes:
    return SpikeAlert(dedupe_key=key, kind="spike", brand="Southwest", window_start="2025-01-15T14:50:00Z",
                      window_end="2025-01-15T15:00:00Z", observed=48, expected=6, score=9.0,
                      detected_at="2025-01-15T15:00:00Z", status=status).to_json()


def setup(factory: sessionmaker[Session], clock: Clock, hook: Recorder, pd: Recorder | None = None,
          ) -> tuple[Router, Dispatcher]:
    channels = {"hook": hook, "pagerduty": pd or Recorder("pagerduty")}
    router = Router(RoutingConfig.from_dict(ROUTES), available=frozenset(channels))
    links = Links("http://console", "s3cret", timedelta(hours=1))
    dispatcher = Dispatcher(factory, channels, links, clock, retry_base=timedelta(seconds=10),
                            retry_cap=timedelta(minutes=5), max_attempts=3)
    return router, dispatcher


def put(factory: sessionmaker[Session], router: Router, raw: bytes, offset: int, now: datetime) -> AlertRecord | None:
    with transaction(factory) as s:
        return ingest(s, router, raw, "alerts.spikes", 0, offset, now)


def count(factory: sessionmaker[Session], model: type[object]) -> int:
    with factory() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_an_offset_read_twice_is_recorded_once(factory: sessionmaker[Session]) -> None:
    clock, hook = Clock(), Recorder()
    router, _ = setup(factory, clock, hook)
    assert put(factory, router, spike(), 5, T0) is not None
    assert put(factory, router, spike(), 5, T0) is None  # re-read after a crash before the offset commit
    put(factory, router, spike("update"), 6, T0)  # the same incident again: grouped
    assert (count(factory, AlertRecord), count(factory, Incident), count(factory, Delivery)) == (2, 1, 1)


def test_an_invalid_message_is_kept_with_its_reason(factory: sessionmaker[Session]) -> None:
    router, _ = setup(factory, Clock(), Recorder())
    record = put(factory, router, b'{"kind": "spike"}', 1, T0)
    assert record is not None and record.note.startswith("rejected: ")
    assert count(factory, Incident) == 0


def test_a_failing_receiver_is_retried_with_backoff_then_delivered_once(factory: sessionmaker[Session]) -> None:
    clock, hook = Clock(), Recorder(failures=1)
    router, dispatcher = setup(factory, clock, hook)
    put(factory, router, spike(), 1, T0)
    assert dispatcher.run_once() == {"retry": 1}
    assert dispatcher.run_once() == {}  # not due yet
    clock.now += timedelta(seconds=10)
    assert dispatcher.run_once() == {"delivered": 1}
    assert dispatcher.run_once() == {}
    assert len(hook.sent) == 1
    assert hook.sent[0].ack_link.startswith("http://console/oncall/alerts/act?token=")
    with factory() as s:
        (delivery,) = history(s, 1)
        outcomes = s.scalars(sa.select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)).all()
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert outcomes == ["failed", "sent"]


def test_a_delivery_that_keeps_failing_is_marked_dead(factory: sessionmaker[Session]) -> None:
    clock, hook = Clock(), Recorder(failures=99)
    router, dispatcher = setup(factory, clock, hook)
    put(factory, router, spike(), 1, T0)
    for _ in range(3):
        dispatcher.run_once()
        clock.now += timedelta(minutes=5)
    with factory() as s:
        (delivery,) = history(s, 1)
    assert delivery.status == "dead" and "receiver down" in delivery.last_error


def test_a_send_interrupted_by_a_crash_is_sent_again_with_the_same_key(factory: sessionmaker[Session]) -> None:
    clock, hook = Clock(), Recorder()
    router, dispatcher = setup(factory, clock, hook)
    put(factory, router, spike(), 1, T0)
    assert len(dispatcher.claim_due()) == 1  # claimed, then the process "dies" before sending
    _, restarted = setup(factory, clock, hook)
    assert restarted.run_once() == {}  # still marked in flight until recovery runs
    assert restarted.recover() == 1
    assert restarted.run_once() == {"delivered": 1}
    with factory() as s:
        outcomes = s.scalars(sa.select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)).all()
    assert outcomes == ["interrupted", "sent"]
    assert [n.delivery_key for n in hook.sent] == ["1:r1-trigger-t0:hook"]


def test_unacknowledged_escalates_and_acknowledged_stops(factory: sessionmaker[Session]) -> None:
    clock, hook, pd = Clock(), Recorder(), Recorder("pagerduty")
    router, dispatcher = setup(factory, clock, hook, pd)
    put(factory, router, spike(), 1, T0)
    dispatcher.run_once()
    clock.now = T0 + timedelta(minutes=10)
    with transaction(factory) as s:
        assert escalate_due(s, router, clock.now) == 2
    dispatcher.run_once()
    assert [(n.action, n.address) for n in hook.sent] == [("trigger", ""), ("escalate", "boss")]
    assert [n.action for n in pd.sent] == ["escalate"]
    with transaction(factory) as s:
        incidents.acknowledge(s, 1, "ana", now=clock.now)
    dispatcher.run_once()
    assert [n.action for n in pd.sent] == ["escalate", "acknowledge"]  # PagerDuty learns it; mail does not
    assert len(hook.sent) == 2
    with factory() as s:
        incident = s.get_one(Incident, 1)
    assert (incident.status, incident.acknowledged_by, incident.next_tick_at) == ("acknowledged", "ana", None)


def test_a_planned_notice_overtaken_by_an_ack_is_cancelled(factory: sessionmaker[Session]) -> None:
    clock, hook = Clock(), Recorder()
    router, dispatcher = setup(factory, clock, hook)
    put(factory, router, spike(), 1, T0)
    with transaction(factory) as s:
        incidents.acknowledge(s, 1, "ana", now=T0)
    assert dispatcher.run_once() == {"skipped": 1}
    assert hook.sent == []
    with factory() as s:
        assert s.scalars(sa.select(Delivery.status)).all() == ["cancelled"]


def test_resolve_from_a_signed_link_tells_who_was_told(factory: sessionmaker[Session]) -> None:
    clock, hook = Clock(), Recorder()
    router, dispatcher = setup(factory, clock, hook)
    put(factory, router, spike(), 1, T0)
    dispatcher.run_once()
    token = make_token("s3cret", 1, "resolve", T0, timedelta(hours=1))
    with transaction(factory) as s:
        clock.now = T0 + timedelta(minutes=1)
        incident = incidents.act_on_link(s, "s3cret", token, "link-user", now=clock.now)
        assert incident.status == "resolved"
    dispatcher.run_once()
    assert [n.action for n in hook.sent] == ["trigger", "resolve"]
    with factory() as s:
        # Through the ORM: `user` is a reserved word in PostgreSQL (raw `select user` is current_user).
        audit = s.execute(sa.select(Acknowledgement.action, Acknowledgement.user, Acknowledgement.via)).all()
    assert [tuple(r) for r in audit] == [("resolve", "link-user", "link")]
