"""On-call area: incidents open / acknowledged / resolved (live by polling JSON), one incident's page with
its chart, top terms, sample posts and delivery history, and the acknowledge/resolve actions, from the
console or from a signed link in a notification. Every action goes through alerting.incidents (which
plans the notifications it causes) and is written to the console's audit trail in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from alerting import ack, incidents
from alerting.outbox import Acknowledgement, DeliveryAttempt, Incident, history
from stream.schema import SchemaError, SpikeAlert, format_time, parse_time
from web import audit
from web.context import console, db, now
from web.oncall_chart import Chart, buckets_around, build
from web.oncall_evidence import Evidence, Sample, SearchEvidence
from web.security import public, roles

log = logging.getLogger(__name__)

bp = Blueprint("oncall", __name__, url_prefix="/oncall")

ONCALL = ("oncall", "supervisor", "admin")
STATUSES = ("open", "acknowledged", "resolved")
RESOLVED_SHOWN = 50  # the resolved list is a recent history, not an archive
POLL_SECONDS = 5  # live updates: how often the page asks for the lists (ONCALL_POLL_SECONDS overrides)


def poll_seconds() -> float:
    return float(current_app.config.get("ONCALL_POLL_SECONDS", POLL_SECONDS))


def evidence() -> Evidence:
    """The search engine behind incident pages; tests set ONCALL_EVIDENCE to their own."""
    injected: Evidence | None = current_app.config.get("ONCALL_EVIDENCE")
    if injected is not None:
        return injected
    state = console()
    found: Evidence | None = state.extra.get("oncall_evidence")
    if found is None:
        from elasticsearch import Elasticsearch

        # Short timeout, no retries: a slow search engine must not hold up the page that says who to call.
        es = Elasticsearch(state.settings.es_url, request_timeout=5, max_retries=0)
        found = SearchEvidence(es, state.settings.index_prefix)
        state.extra["oncall_evidence"] = found
    return found


def _alert(incident: Incident) -> SpikeAlert | None:
    try:
        return incident.alert()
    except SchemaError:
        return None


def _time(value: Any) -> str:
    # Whole seconds: people compare these at a glance, and the database keeps the exact time.
    return format_time(value.replace(microsecond=0)) if value is not None else ""


def summary(incident: Incident) -> dict[str, Any]:
    """An incident as the lists show it (and as the JSON for live updates carries it)."""
    alert = _alert(incident)
    return {
        "id": incident.id,
        "status": incident.status,
        "severity": incident.severity,
        "kind": incident.kind,
        "brand": incident.brand,
        "category": incident.category or "",
        "observed": alert.observed if alert else None,
        "expected": alert.expected if alert else None,
        "top_terms": alert.top_terms[:5] if alert else [],
        "updates": incident.updates,
        "tier": incident.tier,
        "opened_at": _time(incident.opened_at),
        "acknowledged_at": _time(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by or "",
        "resolved_at": _time(incident.resolved_at),
        "resolved_by": incident.resolved_by or "",
        "url": url_for("oncall.incident", incident_id=incident.id),
    }


def lists() -> dict[str, list[dict[str, Any]]]:
    session = db()
    found: dict[str, list[dict[str, Any]]] = {}
    for status in STATUSES:
        query = sa.select(Incident).where(Incident.status == status)
        if status == "resolved":
            query = query.order_by(Incident.resolved_at.desc(), Incident.id.desc()).limit(RESOLVED_SHOWN)
        else:
            query = query.order_by(Incident.opened_at.desc(), Incident.id.desc())
        found[status] = [summary(i) for i in session.scalars(query)]
    return found


@bp.get("/")
@roles(*ONCALL)
def index() -> str:
    return render_template("oncall.html", lists=lists(), poll_seconds=poll_seconds())


@bp.get("/alerts.json")
@roles(*ONCALL)
def alerts_json() -> Response:
    return jsonify(lists())


@dataclass(frozen=True)
class AttemptRow:
    started_at: str
    outcome: str
    error: str


@dataclass(frozen=True)
class DeliveryRow:
    channel: str
    address: str
    action: str
    tier: int
    status: str
    due_at: str
    delivered_at: str
    attempts: list[AttemptRow]
    last_error: str


def delivery_rows(incident_id: int) -> list[DeliveryRow]:
    session = db()
    deliveries = list(history(session, incident_id))
    attempts: dict[int, list[AttemptRow]] = {d.id: [] for d in deliveries}
    if deliveries:
        for a in session.scalars(sa.select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(attempts))
                                 .order_by(DeliveryAttempt.id)):
            attempts[a.delivery_id].append(AttemptRow(_time(a.started_at), a.outcome or "in flight", a.error))
    return [DeliveryRow(d.channel, d.address, d.action, d.tier, d.status, _time(d.due_at), _time(d.delivered_at),
                        attempts[d.id], d.last_error) for d in deliveries]


def _chart_and_samples(alert: SpikeAlert | None) -> tuple[Chart | None, list[Sample], str]:
    """The parts that come from the search engine; if it does not answer, the page still shows the rest."""
    if alert is None:
        return None, [], "The alert behind this incident could not be read."
    source = evidence()
    try:
        buckets = source.counts(alert, buckets_around(alert, now()))
        samples = source.samples(alert.sample_ids)
    except Exception as exc:  # a search outage must not hide who was paged and the buttons to act
        log.warning("incident evidence unavailable: %s", exc)
        return None, [], "Counts and sample mentions are unavailable: the search engine did not answer."
    what = "Negative mentions" if alert.kind == "spike" else "Mentions"
    return build(buckets, alert.expected, parse_time(alert.window_start), what), samples, ""


@bp.get("/alerts/<int:incident_id>")
@roles(*ONCALL)
def incident(incident_id: int) -> str:
    session = db()
    found = session.get(Incident, incident_id)
    if found is None:
        abort(404)
    alert = _alert(found)
    chart, samples, problem = _chart_and_samples(alert)
    actions = list(session.scalars(sa.select(Acknowledgement).where(Acknowledgement.incident_id == incident_id)
                                   .order_by(Acknowledgement.id)))
    return render_template(
        "oncall_incident.html", incident=found, alert=alert, info=summary(found), chart=chart, samples=samples,
        problem=problem, deliveries=delivery_rows(incident_id), actions=actions, poll_seconds=poll_seconds(),
    )


@bp.get("/alerts/<int:incident_id>.json")
@roles(*ONCALL)
def incident_json(incident_id: int) -> Response:
    found = db().get(Incident, incident_id)
    if found is None:
        abort(404)
    info = summary(found)
    info["deliveries"] = [
        {"channel": d.channel, "address": d.address, "action": d.action, "status": d.status,
         "attempts": len(d.attempts), "delivered_at": d.delivered_at}
        for d in delivery_rows(incident_id)
    ]
    return jsonify(info)


def _audit_view(incident: Incident) -> dict[str, Any]:
    return {"status": incident.status, "acknowledged_by": incident.acknowledged_by,
            "resolved_by": incident.resolved_by, "tier": incident.tier}


def _apply(incident_id: int, action: str, user: str, via: str, actor: Any) -> Incident:
    """Act and audit in one transaction: the audit entry exists if and only if the action happened."""
    session = db()
    found = session.get(Incident, incident_id)
    if found is None:
        raise incidents.IncidentNotFound(f"no incident #{incident_id}")
    before = _audit_view(found)
    at = now()
    act = incidents.acknowledge if action == "acknowledge" else incidents.resolve
    act(session, incident_id, user, now=at, via=via)
    after = {**_audit_view(found), "via": via}
    audit.record(session, at, actor, f"incident.{action}", "incident", str(incident_id), before, after)
    session.commit()
    return found


@bp.post("/alerts/<int:incident_id>/<any(acknowledge, resolve):action>")
@roles(*ONCALL)
def act(incident_id: int, action: str) -> Response:
    try:
        _apply(incident_id, action, current_user.username, "console", current_user._get_current_object())
    except incidents.IncidentNotFound:
        abort(404)
    flash(f"Incident #{incident_id} {'acknowledged' if action == 'acknowledge' else 'resolved'}.", "ok")
    return redirect(url_for("oncall.incident", incident_id=incident_id))


def _link_user() -> tuple[str, Any]:
    if current_user.is_authenticated:
        return current_user.username, current_user._get_current_object()
    return "signed link", None  # the link itself is the credential (alerting/ack.py); the audit says so


@bp.route("/alerts/act", methods=["GET", "POST"])
@public
def act_on_link() -> tuple[str, int] | Response:
    """GET only shows what the link will do: mail scanners and link previews fetch links, and must not
    acknowledge an incident by doing so. The button posts (with a CSRF token) and that acts."""
    token = request.values.get("token", "")
    secret = console().settings.secret_key
    try:
        claim = ack.verify_token(secret, token, now())
    except ack.AckError as exc:
        return render_template("oncall_link.html", error=str(exc), claim=None, token="", incident=None), 400
    found = db().get(Incident, claim.incident_id)
    if found is None:
        return render_template("oncall_link.html", error="this incident no longer exists", claim=None, token="",
                               incident=None), 404
    if request.method == "GET":
        return render_template("oncall_link.html", error="", claim=claim, token=token, incident=found), 200
    user, actor = _link_user()
    session = db()
    before = _audit_view(found)
    try:
        done = incidents.act_on_link(session, secret, token, user, now=now())
    except ack.AckError as exc:  # expired between the two requests
        session.rollback()
        return render_template("oncall_link.html", error=str(exc), claim=None, token="", incident=None), 400
    audit.record(session, now(), actor, f"incident.{claim.action}", "incident", str(done.id), before,
                 {**_audit_view(done), "via": "link"})
    session.commit()
    flash(f"Incident #{done.id} {'acknowledged' if claim.action == 'acknowledge' else 'resolved'}.", "ok")
    if current_user.is_authenticated and current_user.role in ONCALL:
        return redirect(url_for("oncall.incident", incident_id=done.id))
    return render_template("oncall_link.html", error="", claim=claim, token="", incident=done, done=True), 200
