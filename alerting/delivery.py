"""The delivery loop: send what the outbox says is due, record every attempt, retry with backoff.

A send happens between two commits: the claim (delivery -> `sending`, an attempt row with no outcome) and
the result (delivered / retry later / dead). If the process dies in between, `recover` finds the attempt
without an outcome at the next start and sends the delivery again with the same delivery key, so the
notification is never lost, and receivers that honour the key (webhook `Idempotency-Key`, PagerDuty
`dedup_key`, mail `Message-ID`) see it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from alerting import ack
from alerting.notification import Channel, ChannelError, Notification, Sample
from alerting.outbox import Delivery, DeliveryAttempt, Incident
from alerting.routing import retry_delay, still_wanted
from infra import metrics
from infra.db import transaction
from stream.schema import SpikeAlert

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Links:
    console_url: str
    secret: str  # "" = no acknowledge/resolve links (the console still works)
    ttl: timedelta

    def for_incident(self, incident_id: int, now: datetime) -> tuple[str, str, str]:
        console = ack.incident_url(self.console_url, incident_id)
        if not self.secret:
            return console, "", ""
        ack_link, resolve_link = (
            ack.action_url(self.console_url, ack.make_token(self.secret, incident_id, action, now, self.ttl))
            for action in ack.ACTIONS
        )
        return console, ack_link, resolve_link


@dataclass
class Dispatcher:
    factory: sessionmaker[Session]
    channels: Mapping[str, Channel]
    links: Links
    clock: Callable[[], datetime]
    retry_base: timedelta = timedelta(seconds=10)
    retry_cap: timedelta = timedelta(minutes=10)
    max_attempts: int = 10
    samples: Callable[[SpikeAlert], tuple[Sample, ...]] = lambda _alert: ()

    def recover(self) -> int:
        """After a crash: attempts left without an outcome were interrupted; their deliveries go again now."""
        now = self.clock()
        with transaction(self.factory) as session:
            session.execute(sa.update(DeliveryAttempt).where(DeliveryAttempt.outcome.is_(None))
                            .values(outcome="interrupted", finished_at=now, error="process stopped mid-send"))
            result = session.execute(sa.update(Delivery).where(Delivery.status == "sending")
                                     .values(status="pending", next_attempt_at=now))
            return int(getattr(result, "rowcount", 0) or 0)

    def claim_due(self, limit: int = 50) -> list[tuple[int, int]]:
        """Mark due deliveries as in flight; returns (delivery id, attempt id) pairs."""
        now = self.clock()
        claimed: list[tuple[int, int]] = []
        with transaction(self.factory) as session:
            due = session.scalars(sa.select(Delivery.id).where(Delivery.status == "pending",
                                                               Delivery.next_attempt_at <= now)
                                  .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)).all()
            for delivery_id in due:
                # Conditional update: another alerter process may have claimed it in the meantime.
                result = session.execute(sa.update(Delivery)
                                         .where(Delivery.id == delivery_id, Delivery.status == "pending")
                                         .values(status="sending", attempts=Delivery.attempts + 1))
                if not getattr(result, "rowcount", 0):
                    continue
                attempt = DeliveryAttempt(delivery_id=delivery_id, started_at=now, error="")
                session.add(attempt)
                session.flush()
                claimed.append((delivery_id, attempt.id))
        return claimed

    def _prepare(self, delivery_id: int, attempt_id: int) -> tuple[Channel, Notification] | None:
        now = self.clock()
        with transaction(self.factory) as session:
            delivery = session.get_one(Delivery, delivery_id)
            incident = session.get_one(Incident, delivery.incident_id)
            channel = self.channels.get(delivery.channel)
            reason = ""
            if not still_wanted(delivery.action, incident.status):
                delivery.status, reason = "cancelled", f"incident {incident.status} before it was sent"
            elif channel is None:
                delivery.status, reason = "dead", f"channel {delivery.channel!r} is not configured"
            if reason:
                delivery.last_error = reason
                attempt = session.get_one(DeliveryAttempt, attempt_id)
                attempt.outcome, attempt.finished_at, attempt.error = delivery.status, now, reason
                return None
            assert channel is not None
            alert = incident.alert()
            console, ack_link, resolve_link = self.links.for_incident(incident.id, now)
            notification = Notification(
                delivery_key=delivery.key, action=delivery.action, incident_id=incident.id, tier=delivery.tier,
                address=delivery.address, alert=alert, opened_at=incident.opened_at, updates=incident.updates,
                console_link=console, ack_link=ack_link, resolve_link=resolve_link,
            )
        try:
            samples = self.samples(alert)
        except Exception:  # samples are a nicety: a failing lookup must not block the alert
            log.warning("sample lookup failed for incident #%s", notification.incident_id, exc_info=True)
            samples = ()
        if samples:
            notification = replace(notification, samples=samples)
        return channel, notification

    def send(self, delivery_id: int, attempt_id: int) -> str:
        prepared = self._prepare(delivery_id, attempt_id)
        if prepared is None:
            return "skipped"
        channel, notification = prepared
        error: ChannelError | None = None
        try:
            channel.send(notification)
        except ChannelError as exc:
            error = exc
        except Exception as exc:  # a bug in a channel must not kill the loop; the attempt records it
            log.exception("channel %s crashed", channel.name)
            error = ChannelError(f"{type(exc).__name__}: {exc}")
        now = self.clock()
        metrics.ALERT_DELIVERIES.labels(channel.name, "sent" if error is None else "failed").inc()
        with transaction(self.factory) as session:
            delivery = session.get_one(Delivery, delivery_id)
            attempt = session.get_one(DeliveryAttempt, attempt_id)
            attempt.finished_at = now
            if error is None:
                attempt.outcome = "sent"
                delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, ""
                log.info("delivered %s via %s", delivery.key, delivery.channel)
                return "delivered"
            attempt.outcome, attempt.error = "failed", str(error)
            delivery.last_error = str(error)
            if error.retryable and delivery.attempts < self.max_attempts:
                delivery.status = "pending"
                delivery.next_attempt_at = now + retry_delay(delivery.attempts, self.retry_base, self.retry_cap)
                log.warning("delivery %s failed (attempt %d), retrying at %s: %s", delivery.key,
                            delivery.attempts, delivery.next_attempt_at, error)
                return "retry"
            delivery.status = "dead"
            metrics.ALERT_DELIVERIES.labels(channel.name, "dead").inc()
            log.error("delivery %s is dead after %d attempt(s): %s", delivery.key, delivery.attempts, error)
            return "dead"

    def run_once(self) -> dict[str, int]:
        outcomes: dict[str, int] = {}
        for delivery_id, attempt_id in self.claim_due():
            outcome = self.send(delivery_id, attempt_id)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes
