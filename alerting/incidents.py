"""What people do to incidents: acknowledge and resolve, from the console or from a signed link.

The console (web/) calls these inside its own transaction; each action is audited in `acknowledgements`
and plans the notifications it causes (PagerDuty acknowledge, resolved notices) in the outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from alerting import ack, routing
from alerting.outbox import Acknowledgement, Incident, apply_decision, notified_targets, state_of


class IncidentNotFound(LookupError):
    pass


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _load(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"no incident #{incident_id}")
    return incident


def acknowledge(session: Session, incident_id: int, user: str, *, now: datetime | None = None,
                via: str = "console") -> Incident:
    """Stop escalation of an open incident; acknowledging twice is harmless (and audited)."""
    at = _now(now)
    incident = _load(session, incident_id)
    decision = routing.acknowledge(state_of(incident), notified_targets(session, incident.id), at)
    if incident.status == "open":
        incident.acknowledged_at, incident.acknowledged_by = at, user
    apply_decision(session, incident, decision, None, at)
    session.add(Acknowledgement(incident_id=incident.id, action="acknowledge", user=user, via=via, at=at,
                                note=decision.note))
    session.flush()
    return incident


def resolve(session: Session, incident_id: int, user: str, *, now: datetime | None = None,
            via: str = "console") -> Incident:
    """Close an incident; the channels that were told it started are told it is over."""
    at = _now(now)
    incident = _load(session, incident_id)
    decision = routing.resolve(state_of(incident), notified_targets(session, incident.id), at)
    if incident.status != "resolved":
        incident.resolved_by = user
    apply_decision(session, incident, decision, None, at)
    session.add(Acknowledgement(incident_id=incident.id, action="resolve", user=user, via=via, at=at,
                                note=decision.note))
    session.flush()
    return incident


def act_on_link(session: Session, secret: str, token: str, user: str, *, now: datetime | None = None) -> Incident:
    """Verify a link from a notification and apply it; raises ack.AckError for a bad or expired link."""
    at = _now(now)
    claim = ack.verify_token(secret, token, at)
    action = acknowledge if claim.action == "acknowledge" else resolve
    return action(session, claim.incident_id, user, now=at, via="link")
