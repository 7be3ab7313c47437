"""`listening-center alerter`: alerts.spikes -> outbox -> channels.

Two loops in one process. The Kafka loop records each polled batch in the outbox (one transaction) and
only then commits the offsets, so an alert is never acknowledged to Kafka before it is safely written; a
batch re-read after a crash is recognised by topic/partition/offset and changes nothing. The delivery
loop sends what is due and runs escalation ticks.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from kafka.errors import CommitFailedError
from sqlalchemy.orm import Session, sessionmaker

from alerting.channels import build_channels
from alerting.delivery import Dispatcher, Links
from alerting.outbox import escalate_due, ingest
from alerting.routing import Router, RoutingConfig
from infra import logs, metrics
from infra.db import alembic_config, make_engine, session_factory, transaction
from infra.kafka_config import CONSUMER_DEFAULTS
from infra.settings import Settings

log = logging.getLogger("alerting")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Alerter:
    factory: sessionmaker[Session]
    router: Router
    dispatcher: Dispatcher
    clock: Callable[[], datetime] = utc_now
    poll_seconds: float = 1.0
    stop: threading.Event = field(default_factory=threading.Event)

    def record(self, records: Iterable[Any]) -> int:
        """Write a polled batch (kafka-python ConsumerRecords) to the outbox; returns new alerts recorded."""
        recorded = 0
        now = self.clock()
        with transaction(self.factory) as session:
            for r in records:
                row = ingest(session, self.router, r.value, r.topic, r.partition, r.offset, now)
                if row is not None:
                    recorded += 1
                    log.info("alert %s/%s@%s: %s", r.topic, r.partition, r.offset, row.note)
        return recorded

    def consume(self, consumer: Any) -> None:
        while not self.stop.is_set():
            batches = consumer.poll(timeout_ms=500, max_records=200)
            if not batches:
                continue
            for records in batches.values():
                self.record(records)
            try:
                consumer.commit()  # only now: the outbox holds everything these offsets stand for
            except CommitFailedError as exc:  # the broker restarted or the group rebalanced: not fatal
                log.warning("offset commit refused (%s); the batch is read again (the outbox knows it)", exc)

    def tick(self) -> dict[str, int]:
        with transaction(self.factory) as session:
            escalated = escalate_due(session, self.router, self.clock())
        outcomes = self.dispatcher.run_once()
        if escalated:
            outcomes["escalations"] = escalated
        return outcomes

    def deliver_forever(self) -> None:
        self.dispatcher.recover()
        while not self.stop.is_set():
            try:
                outcomes = self.tick()
            except Exception:  # a database hiccup must not end delivery for good; try again next tick
                log.exception("delivery tick failed")
                outcomes = {}
            if not outcomes:
                self.stop.wait(self.poll_seconds)


def build(settings: Settings, clock: Callable[[], datetime] = utc_now) -> Alerter:
    """Everything the alerter needs, from the settings; says which channels are off and why."""
    engine = make_engine(settings.db_url)
    from alembic import command

    command.upgrade(alembic_config(settings.db_url), "alerting@head")
    factory = session_factory(engine)
    channels, missing = build_channels(settings)
    for name, why in sorted(missing.items()):
        log.warning("channel %s is off: %s", name, why)
    config = RoutingConfig.load(Path(settings.alert_routes) if settings.alert_routes else None)
    for name in sorted(config.channels() - channels.keys()):
        log.warning("routes name channel %r, which is off: those notifications are skipped", name)
    if not settings.secret_key:
        log.warning("LC_SECRET_KEY is empty: notifications carry no acknowledge/resolve links")
    router = Router(config, available=frozenset(channels))
    dispatcher = Dispatcher(
        factory, channels,
        Links(settings.console_url, settings.secret_key, timedelta(hours=settings.alert_link_hours)),
        clock,
        retry_base=timedelta(seconds=settings.alert_retry_base_seconds),
        retry_cap=timedelta(seconds=settings.alert_retry_max_seconds),
        max_attempts=settings.alert_max_attempts,
    )
    return Alerter(factory, router, dispatcher, clock, settings.alert_poll_seconds)


def kafka_consumer(settings: Settings, group: str) -> Any:
    from kafka import KafkaConsumer

    return KafkaConsumer(
        settings.topic("alerts.spikes"),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="listening-center-alerter",
        **CONSUMER_DEFAULTS,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center alerter", description=__doc__)
    parser.add_argument("--group", default=None, help="Kafka consumer group (default: <topic prefix>lc-alerter)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logs.configure(settings, "alerter")
    metrics.serve(settings, "alerter")
    alerter = build(settings)
    args.group = args.group or settings.topic("lc-alerter")  # per-prefix, like the topics it reads
    consumer = kafka_consumer(settings, args.group)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current batch", signum)
        alerter.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sender = threading.Thread(target=alerter.deliver_forever, name="alert-delivery", daemon=True)
    sender.start()
    log.info("alerter consuming %s as group %s", settings.topic("alerts.spikes"), args.group)
    try:
        alerter.consume(consumer)
    finally:
        alerter.stop.set()
        consumer.close(autocommit=False)
        sender.join(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
