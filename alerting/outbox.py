"""The alerting outbox: alerts, incidents, planned deliveries, their attempts and acknowledgements, in SQL.

Every alert and every delivery it causes is written here, in one transaction, before the Kafka offset is
committed; the delivery loop then sends what is due from these rows. So a crash loses nothing (the alert
is re-read, and recognised by its topic/partition/offset) and a planned delivery exists exactly once
(unique `key`: incident, step and target).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from alerting.routing import NOTIFY_ACTIONS, Decision, IncidentState, Router, Target
from infra.db import Base
from stream.schema import SchemaError, SpikeAlert


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the column: SQLite has no zones and would hand back naive times."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(sa.String(255), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)  # open | acknowledged | resolved
    route: Mapped[str] = mapped_column(sa.String(100))
    policy: Mapped[str] = mapped_column(sa.String(100))
    severity: Mapped[str] = mapped_column(sa.String(16))
    kind: Mapped[str] = mapped_column(sa.String(16))
    brand: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str | None] = mapped_column(sa.String(200))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    notify_from: Mapped[datetime] = mapped_column(UTCDateTime())
    tier: Mapped[int] = mapped_column(default=0)
    round: Mapped[int] = mapped_column(default=1)
    updates: Mapped[int] = mapped_column(default=0)
    next_tick_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(sa.String(200))
    latest_alert: Mapped[str] = mapped_column(sa.Text)  # SpikeAlert JSON of the last alert grouped in

    def alert(self) -> SpikeAlert:
        return SpikeAlert.from_json(self.latest_alert)


class AlertRecord(Base):
    """Every message read from alerts.spikes, valid or not (an invalid one keeps its reason)."""

    __tablename__ = "alerts"
    __table_args__ = (sa.UniqueConstraint("source_topic", "source_partition", "source_offset",
                                          name="uq_alerts_source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(255))
    status: Mapped[str | None] = mapped_column(sa.String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source_topic: Mapped[str] = mapped_column(sa.String(255))
    source_partition: Mapped[int]
    source_offset: Mapped[int]
    payload: Mapped[str] = mapped_column(sa.Text)
    note: Mapped[str] = mapped_column(sa.Text, default="")  # what routing decided, or why it was rejected


class Delivery(Base):
    """One notification to one target; retried until delivered, dead, or cancelled as moot."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(400), unique=True)  # idempotency key, sent to receivers
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(50))
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    action: Mapped[str] = mapped_column(sa.String(16))
    tier: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), index=True)  # pending|sending|delivered|dead|cancelled
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def target(self) -> Target:
        return Target(self.channel, self.address)


class DeliveryAttempt(Base):
    """Written before a send starts (outcome empty = in flight), completed after: a crash leaves a trace."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("deliveries.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(sa.String(16))  # sent | failed | interrupted | cancelled
    error: Mapped[str] = mapped_column(sa.Text, default="")


class Acknowledgement(Base):
    """The audit trail of people acting on incidents (console or signed link)."""

    __tablename__ = "acknowledgements"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(16))  # acknowledge | resolve
    user: Mapped[str] = mapped_column(sa.String(200))
    via: Mapped[str] = mapped_column(sa.String(16))  # console | link
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(sa.Text, default="")


def state_of(incident: Incident) -> IncidentState:
    return IncidentState(
        dedupe_key=incident.dedupe_key, route=incident.route, policy=incident.policy, status=incident.status,
        severity=incident.severity, opened_at=incident.opened_at, notify_from=incident.notify_from,
        tier=incident.tier, round=incident.round, updates=incident.updates, resolved_at=incident.resolved_at,
    )


def apply_decision(session: Session, incident: Incident, decision: Decision, router: Router | None,
                   now: datetime) -> list[Delivery]:
    """Copy the decided state onto the row and add its deliveries (once each: the key is unique)."""
    s = decision.state
    incident.status, incident.route, incident.policy = s.status, s.route, s.policy
    incident.severity, incident.notify_from, incident.tier = s.severity, s.notify_from, s.tier
    incident.round, incident.updates, incident.resolved_at = s.round, s.updates, s.resolved_at
    if router is not None:
        incident.next_tick_at = router.next_tick(s)
    elif s.status != "open":
        incident.next_tick_at = None
    session.flush()  # the incident needs its id before deliveries can name it
    added: list[Delivery] = []
    for intent in decision.intents:
        key = f"{incident.id}:{intent.slug}:{intent.target}"
        if session.scalar(sa.select(Delivery.id).where(Delivery.key == key)) is not None:
            continue
        delivery = Delivery(
            key=key, incident_id=incident.id, channel=intent.target.channel, address=intent.target.address,
            action=intent.action, tier=intent.tier, status="pending", due_at=intent.due_at,
            next_attempt_at=intent.due_at, attempts=0, last_error="", created_at=now,
        )
        session.add(delivery)
        added.append(delivery)
    session.flush()
    return added


def latest_incident(session: Session, dedupe_key: str) -> Incident | None:
    return session.scalars(
        sa.select(Incident).where(Incident.dedupe_key == dedupe_key).order_by(Incident.id.desc()).limit(1)
    ).first()


def notified_targets(session: Session, incident_id: int) -> list[Target]:
    """Targets that were (or are being) told about the incident: the ones to tell when it changes."""
    rows = session.execute(
        sa.select(Delivery.channel, Delivery.address)
        .where(Delivery.incident_id == incident_id, Delivery.action.in_(NOTIFY_ACTIONS),
               Delivery.status.in_(("delivered", "sending")))
        .order_by(Delivery.id)
    ).all()
    return [Target(c, a) for c, a in rows]


def ingest(session: Session, router: Router, raw: bytes | None, topic: str, partition: int, offset: int,
           now: datetime) -> AlertRecord | None:
    """Record one message from alerts.spikes and what it causes. None = this offset was recorded before."""
    seen = session.scalar(sa.select(AlertRecord.id).where(
        AlertRecord.source_topic == topic, AlertRecord.source_partition == partition,
        AlertRecord.source_offset == offset))
    if seen is not None:
        return None
    # PostgreSQL text cannot hold NUL: a binary message must still be recorded (as rejected), not stop us.
    text = (raw or b"").decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    record = AlertRecord(received_at=now, source_topic=topic, source_partition=partition, source_offset=offset,
                         payload=text, note="")
    session.add(record)
    try:
        alert = SpikeAlert.from_json(raw or b"")
    except SchemaError as exc:
        record.note = f"rejected: {exc}".replace("\x00", "\ufffd")  # kept, visible, never silently dropped
        session.flush()
        return record
    record.dedupe_key, record.status = alert.dedupe_key, alert.status
    incident = latest_incident(session, alert.dedupe_key)
    current = state_of(incident) if incident is not None else None
    notified = notified_targets(session, incident.id) if incident is not None else []
    decision = router.on_alert(alert, current, notified, now)
    if decision.new_incident or incident is None:
        incident = Incident(
            dedupe_key=alert.dedupe_key, status=decision.state.status, route=decision.state.route,
            policy=decision.state.policy, severity=alert.severity, kind=alert.kind, brand=alert.brand,
            category=alert.category, opened_at=decision.state.opened_at, notify_from=decision.state.notify_from,
            latest_alert="",
        )
        session.add(incident)
    if alert.status != "resolved" or not incident.latest_alert:
        incident.latest_alert = alert.to_json().decode()
    apply_decision(session, incident, decision, router, now)
    record.incident_id = incident.id
    record.note = decision.note
    session.flush()
    return record


def escalate_due(session: Session, router: Router, now: datetime) -> int:
    """Run escalation for every open incident whose next tier is due; returns deliveries planned."""
    planned = 0
    due = session.scalars(sa.select(Incident).where(Incident.status == "open", Incident.next_tick_at.is_not(None),
                                                    Incident.next_tick_at <= now)).all()
    for incident in due:
        decision = router.on_tick(state_of(incident), now)
        planned += len(apply_decision(session, incident, decision, router, now))
    return planned


def history(session: Session, incident_id: int) -> Sequence[Delivery]:
    """Deliveries of an incident, oldest first, for the console's delivery history."""
    return session.scalars(sa.select(Delivery).where(Delivery.incident_id == incident_id)
                           .order_by(Delivery.id)).all()

