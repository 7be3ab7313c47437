"""End to end on real Kafka: spike alerts -> the alerter -> one webhook call and one mail -> nobody
acknowledges -> escalated -> acknowledged through the console API -> no further notifications.

The alerter runs in this process with an injected clock, so "ten minutes without an acknowledgement"
takes no wall time; Kafka, SQLite, the HTTP receiver and the SMTP server are real.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from alerting import consumer, incidents
from alerting.outbox import AlertRecord, Delivery, Incident
from infra.db import transaction
from infra.settings import Settings
from stream.schema import SpikeAlert, format_time
from tests.conftest import Processes, settings_env, wait_for
from tests.integration.alert_servers import Mailbox, Receiver, http_receiver, smtp_server

pytestmark = pytest.mark.integration

ROUTES = """
timezone: UTC
cooldown_minutes: 30
policies:
  oncall:
    - {after_minutes: 0, targets: [webhook, email]}
    - {after_minutes: 10, targets: [webhook, "email:duty-manager@lc.test"]}
routes:
  - {name: default, policy: oncall}
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return self.now

    def advance(self, delta: timedelta) -> None:
        with self.lock:
            self.now += delta


def spike(status: str, observed: float, key: str = "skyway:baggage:spike") -> SpikeAlert:
    now = datetime.now(UTC)
    return SpikeAlert(dedupe_key=key, kind="spike", brand="skyway", category="baggage",
                      window_start=format_time(now - timedelta(minutes=5)), window_end=format_time(now),
                      observed=observed, expected=4, score=7.5, detected_at=format_time(now), severity="warning",
                      status=status, top_terms=["lost bag", "carousel"], sample_ids=["test:1"])


def produce(settings: Settings, *alerts: SpikeAlert) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for a in alerts:
        producer.send(settings.topic("alerts.spikes"), a.to_json(), key=a.dedupe_key.encode())
    producer.flush()
    producer.close()


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, str, Mailbox, int]]:
    receiver, mailbox = Receiver(secret="hook-secret"), Mailbox()
    with http_receiver(receiver) as url, smtp_server(mailbox) as port:
        yield receiver, url, mailbox, port


def alerting_settings(lc: Settings, tmp_path: Path, url: str, smtp_port: int) -> Settings:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    return dataclasses.replace(
        lc, alert_routes=str(routes), alert_webhook_url=url, alert_webhook_secret="hook-secret",
        alert_smtp_host="127.0.0.1", alert_smtp_port=smtp_port, alert_email_from="alerts@lc.test",
        alert_email_to="oncall@lc.test", alert_poll_seconds=0.1,
    )


def test_alert_delivered_once_escalated_then_silenced_by_acknowledgement(
    lc: Settings, tmp_path: Path, receivers: tuple[Receiver, str, Mailbox, int]
) -> None:
    receiver, url, mailbox, port = receivers
    settings = alerting_settings(lc, tmp_path, url, port)
    clock = Clock()
    alerter = consumer.build(settings, clock)
    group = f"{settings.topic_prefix}alerter"
    kafka = consumer.kafka_consumer(settings, group)
    loops = [threading.Thread(target=alerter.consume, args=(kafka,), daemon=True),
             threading.Thread(target=alerter.deliver_forever, daemon=True)]
    for t in loops:
        t.start()

    def recorded() -> int:
        with alerter.factory() as s:
            return int(s.scalar(sa.select(sa.func.count()).select_from(AlertRecord)) or 0)

    try:
        started = time.monotonic()
        produce(settings, spike("open", 20), spike("update", 26), spike("update", 31))
        wait_for(lambda: receiver.accepted and mailbox.messages, timeout=60, what="the first notifications")
        first_notice = time.monotonic() - started
        wait_for(lambda: recorded() == 3, timeout=30, what="all three alerts in the outbox")
        alerter.tick()
        assert len(receiver.accepted) == 1 and len(mailbox.messages) == 1  # one incident, told once
        assert receiver.accepted[0].json()["action"] == "trigger"
        assert mailbox.envelopes[0][1] == ["oncall@lc.test"]
        assert receiver.bad_signatures == 0

        clock.advance(timedelta(minutes=10))  # nobody acknowledged
        wait_for(lambda: len(receiver.accepted) == 2 and len(mailbox.messages) == 2, timeout=30,
                 what="the escalation")
        assert receiver.accepted[1].json()["action"] == "escalate"
        assert mailbox.envelopes[1][1] == ["duty-manager@lc.test"]
        assert "ESCALATED" in str(mailbox.messages[1]["Subject"])

        with transaction(alerter.factory) as s:
            (incident_id,) = s.scalars(sa.select(Incident.id)).all()
            incidents.acknowledge(s, incident_id, "ana", now=clock())
        produce(settings, spike("update", 40))
        wait_for(lambda: recorded() == 4, timeout=30, what="the alert after the acknowledgement")
        clock.advance(timedelta(hours=2))
        for _ in range(3):
            alerter.tick()
        assert len(receiver.accepted) == 2 and len(mailbox.messages) == 2  # no further notifications
        with alerter.factory() as s:
            statuses = s.scalars(sa.select(Delivery.status)).all()
        assert statuses and set(statuses) == {"delivered"}
    finally:
        alerter.stop.set()
        for t in loops:
            t.join(timeout=10)
        kafka.close(autocommit=False)

    # Every offset the outbox holds was committed, and not before: a new member resumes after them.
    check = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False)
    try:
        assert check.committed(TopicPartition(settings.topic("alerts.spikes"), 0)) == 4
    finally:
        check.close()
    report = Path(__file__).resolve().parents[2] / "test-artifacts" / "alerting-latency.txt"
    report.parent.mkdir(exist_ok=True)
    report.write_text(f"produce to first notification (in-process alerter, poll 0.1s): {first_notice:.3f}s\n")
    print(f"first notification {first_notice:.3f}s after the alert was produced")


def test_the_alerter_command_delivers_and_survives_a_restart(
    lc: Settings, tmp_path: Path, receivers: tuple[Receiver, str, Mailbox, int], processes: Processes
) -> None:
    """The real `listening-center alerter` process with default timing settings."""
    receiver, url, mailbox, port = receivers
    settings = dataclasses.replace(alerting_settings(lc, tmp_path, url, port), alert_poll_seconds=1.0)
    env = settings_env(settings)
    processes.start("alerter", "alerter", env=env)
    started = time.monotonic()
    produce(settings, spike("open", 20, key="skyway:delays:spike"))
    wait_for(lambda: receiver.accepted and mailbox.messages, timeout=90, what="the first notifications")
    first_notice = time.monotonic() - started
    processes.kill("alerter")  # SIGTERM: a clean stop
    produce(settings, spike("update", 30, key="skyway:delays:spike"), spike("open", 9, key="skyway:wifi:spike"))
    processes.start("alerter", "alerter", env=env)
    wait_for(lambda: len(receiver.accepted) == 2, timeout=90, what="the second incident after the restart")
    engine = sa.create_engine(settings.db_url)
    try:
        def settled() -> bool:  # every alert recorded and no delivery left to send: nothing more will come
            with engine.connect() as c:
                alerts = c.scalar(sa.text("select count(*) from alerts"))
                open_ = c.scalar(sa.text("select count(*) from deliveries where status in ('pending','sending')"))
            return bool(alerts == 3 and open_ == 0)

        wait_for(settled, timeout=30, what="the outbox to settle")
    finally:
        engine.dispose()
    keys = [r.headers["Idempotency-Key"] for r in receiver.accepted]
    assert len(keys) == len(set(keys)) == 2 and receiver.duplicates == 0
    assert len(mailbox.messages) == 2
    report = Path(__file__).resolve().parents[2] / "test-artifacts" / "alerting-latency-process.txt"
    report.parent.mkdir(exist_ok=True)
    report.write_text(f"produce to first notification (alerter process, default poll 1s, includes start-up): "
                      f"{first_notice:.3f}s\n")
    print(f"alerter process: first notification {first_notice:.3f}s after the alert was produced")
