"""The on-call console through Flask's test client on a temporary SQLite database: lists and their JSON,
the incident page (chart, terms, escaped samples, delivery history), acknowledge/resolve with CSRF and
audit, and signed links. The search engine is replaced by an in-memory `Evidence`; the chart maths is
tested on its own."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from alerting.ack import make_token
from alerting.outbox import Acknowledgement, Delivery, Incident, ingest
from alerting.routing import Router, RoutingConfig
from infra.db import transaction
from stream.schema import SpikeAlert, format_time
from tests.unit.web_fixtures import T0, FakeClock, add_user, csrf_token, login, make_app, state
from web.models import AuditEntry
from web.oncall_chart import Bucket, buckets_around, build
from web.oncall_evidence import Sample, count_filters, counts_query

ROUTES = {
    "timezone": "UTC",
    "policies": {"p": [{"after_minutes": 0, "targets": ["webhook"]},
                       {"after_minutes": 10, "targets": ["email"]}]},
    "routes": [{"name": "all", "policy": "p"}],
}
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def spike(status: str = "open", observed: float = 30, key: str = "skyway:baggage:spike") -> SpikeAlert:
    return SpikeAlert(dedupe_key=key, kind="spike", brand="skyway", category="baggage",
                      window_start=format_time(T0 - timedelta(minutes=5)), window_end=format_time(T0),
                      observed=observed, expected=4, score=7.5, detected_at=format_time(T0), severity="warning",
                      status=status, top_terms=["lost bag", "carousel"], sample_ids=["m:2", "m:1", "m:gone"])


@dataclass
class FakeEvidence:
    per_bucket: int = 3
    fail: bool = False
    asked: list[list[str]] = field(default_factory=list)

    def counts(self, alert: SpikeAlert, buckets: list[Bucket]) -> list[Bucket]:
        if self.fail:
            raise ConnectionError("search engine down")
        spike_start = buckets_around(alert, T0)[12].start
        return [replace(b, count=30 if b.start == spike_start else self.per_bucket) for b in buckets]

    def samples(self, ids: list[str]) -> list[Sample]:
        self.asked.append(ids)
        known = {"m:1": Sample("m:1", HOSTILE, "mallory", "mastodon", "javascript:alert(1)", sentiment="negative"),
                 "m:2": Sample("m:2", "Two hours at the carousel", "ana", "mastodon", "https://x.test/2",
                               sentiment="negative")}
        return [known[i] for i in ids if i in known]


@pytest.fixture
def evidence() -> FakeEvidence:
    return FakeEvidence()


@pytest.fixture
def app(tmp_path: Path, evidence: FakeEvidence) -> Flask:
    app = make_app(tmp_path, ONCALL_EVIDENCE=evidence)
    add_user(app, "olga", "oncall")
    add_user(app, "ana", "agent")
    return app


def open_incident(app: Flask, *alerts: SpikeAlert) -> int:
    router = Router(RoutingConfig.from_dict(ROUTES))
    with transaction(state(app).sessions) as s:
        for offset, alert in enumerate(alerts or (spike(),)):
            ingest(s, router, alert.to_json(), "alerts.spikes", 0, offset, T0)
        # The webhook got the first notification: what the delivery loop would have recorded.
        for d in s.scalars(sa.select(Delivery)):
            d.status, d.attempts, d.delivered_at = "delivered", 1, T0
        incident_id: int = s.scalars(sa.select(Incident.id)).one()
    return incident_id


def incident_row(app: Flask, incident_id: int) -> Incident:
    with state(app).sessions() as s:
        found = s.get(Incident, incident_id)
        assert found is not None
        s.expunge(found)
        return found


def oncall_client(app: Flask) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, login(client, "olga")


# --- chart maths -------------------------------------------------------------------------------------

def test_buckets_are_the_alert_window_wide_and_aligned_and_stop_at_now() -> None:
    buckets = buckets_around(spike(), T0 + timedelta(minutes=7))
    assert len(buckets) == 12 + 1 + 2  # 12 before, the spike, and the two that have started since
    assert buckets[12].start == T0 - timedelta(minutes=5) and buckets[12].end == T0
    assert all(b.end - b.start == timedelta(minutes=5) for b in buckets)
    assert buckets[0].start == T0 - timedelta(minutes=65)


def test_chart_marks_the_spike_and_draws_expected_below_it() -> None:
    buckets = [replace(b, count=30 if i == 12 else 3) for i, b in enumerate(buckets_around(spike(), T0))]
    chart = build(buckets, 4.0, T0 - timedelta(minutes=5))
    (marked,) = [b for b in chart.bars if b.spike]
    assert marked.count == 30
    assert marked.y < chart.expected_y < chart.baseline_y  # the spike rises above the expected line
    tallest = max(b.height for b in chart.bars)
    assert tallest == marked.height and marked.y >= chart.ticks[-1].y  # it fits under the top tick
    assert [t.label for t in chart.ticks] == ["0", "25", "50"]  # round axis labels
    assert "30 in the spike window against 4 expected" in chart.summary


def test_chart_with_no_counts_still_draws_axes() -> None:
    chart = build(buckets_around(spike(), T0), 0.0, T0 - timedelta(minutes=5))
    assert chart.bars == [] and chart.ticks[-1].label == "2" and "unknown" in chart.summary


def test_counts_query_counts_negative_brand_category_mentions_in_exact_windows() -> None:
    buckets = buckets_around(spike(), T0)
    query = counts_query(spike(), buckets)
    assert {"term": {"sentiment": "negative"}} in query["query"]["bool"]["filter"]
    assert {"term": {"categories": "baggage"}} in query["query"]["bool"]["filter"]
    ranges = query["aggs"]["windows"]["date_range"]["ranges"]
    assert ranges[12] == {"key": "12", "from": "2025-03-01T08:55:00Z", "to": "2025-03-01T09:00:00Z"}
    silence = replace(spike(), kind="silence", category=None)
    assert count_filters(silence) == [{"term": {"brand": "skyway"}}]  # a silence is about volume, not mood


# --- lists and access --------------------------------------------------------------------------------

def test_only_oncall_roles_see_the_alerts(app: Flask) -> None:
    open_incident(app)
    anonymous = app.test_client()
    assert anonymous.get("/oncall/").status_code == 302
    assert anonymous.get("/oncall/alerts.json", headers={"Accept": "application/json"}).status_code == 401
    agent = app.test_client()
    login(agent, "ana")
    assert agent.get("/oncall/").status_code == 403
    assert agent.get("/oncall/alerts/1").status_code == 403


def test_list_page_and_json_group_incidents_by_status(app: Flask) -> None:
    incident_id = open_incident(app, spike(), spike("update", 41))
    client, _ = oncall_client(app)
    page = client.get("/oncall/").get_data(as_text=True)
    assert f'href="/oncall/alerts/{incident_id}"' in page and "lost bag, carousel" in page
    assert 'src="/static/oncall.js"' in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    data = client.get("/oncall/alerts.json").get_json()
    assert [i["id"] for i in data["open"]] == [incident_id]
    assert data["open"][0]["observed"] == 41 and data["open"][0]["updates"] == 1  # grouped, latest numbers
    assert data["acknowledged"] == [] and data["resolved"] == []


# --- the incident page -------------------------------------------------------------------------------

def test_incident_page_shows_chart_terms_escaped_samples_and_history(app: Flask, evidence: FakeEvidence) -> None:
    incident_id = open_incident(app)
    client, _ = oncall_client(app)
    resp = client.get(f"/oncall/alerts/{incident_id}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert '<svg id="chart"' in page and page.count('<rect class="bar') == 13
    assert page.count('class="bar spike"') == 1 and 'id="expected"' in page
    assert "<li>lost bag</li>" in page and "<li>carousel</li>" in page
    assert evidence.asked == [["m:2", "m:1", "m:gone"]]
    assert page.index("Two hours at the carousel") < page.index("&lt;script&gt;")  # the alert's order
    assert HOSTILE not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="javascript:' not in page  # only http(s) links to originals
    deliveries = page[page.index('id="deliveries"'):page.index('id="actions"')]
    assert "webhook" in deliveries and "trigger" in deliveries and "delivered" in deliveries
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_incident_page_survives_a_search_outage(app: Flask, evidence: FakeEvidence) -> None:
    incident_id = open_incident(app)
    evidence.fail = True
    client, _ = oncall_client(app)
    page = client.get(f"/oncall/alerts/{incident_id}").get_data(as_text=True)
    assert "search engine did not answer" in page
    assert 'id="acknowledge"' in page and "webhook" in page  # who was told, and the buttons to act
    assert client.get("/oncall/alerts/999").status_code == 404


# --- acknowledge and resolve -------------------------------------------------------------------------

def test_acknowledge_needs_csrf_then_stops_escalation_and_is_audited(app: Flask) -> None:
    incident_id = open_incident(app)
    client, token = oncall_client(app)
    assert client.post(f"/oncall/alerts/{incident_id}/acknowledge").status_code == 400  # no CSRF token
    assert incident_row(app, incident_id).status == "open"
    clock: FakeClock = app.config["CLOCK"]
    clock.advance(minutes=3)
    resp = client.post(f"/oncall/alerts/{incident_id}/acknowledge", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/oncall/alerts/{incident_id}")
    row = incident_row(app, incident_id)
    assert row.status == "acknowledged" and row.acknowledged_by == "olga" and row.next_tick_at is None
    assert row.acknowledged_at == clock.now
    with state(app).sessions() as s:
        (entry,) = s.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == "incident")).all()
        (acked,) = s.scalars(sa.select(Acknowledgement)).all()
    assert (entry.actor, entry.action, entry.object_id) == ("olga", "incident.acknowledge", str(incident_id))
    assert '"status": "open"' in entry.before and '"status": "acknowledged"' in entry.after
    assert (acked.user, acked.via) == ("olga", "console")
    data = client.get("/oncall/alerts.json").get_json()
    assert data["open"] == [] and data["acknowledged"][0]["acknowledged_by"] == "olga"
    page = client.get(f"/oncall/alerts/{incident_id}").get_data(as_text=True)
    assert f"Incident #{incident_id} acknowledged." in page


def test_resolve_tells_the_notified_channels_and_moves_the_incident(app: Flask) -> None:
    incident_id = open_incident(app)
    client, token = oncall_client(app)
    assert client.post(f"/oncall/alerts/{incident_id}/resolve", data={"csrf_token": token}).status_code == 302
    row = incident_row(app, incident_id)
    assert row.status == "resolved" and row.resolved_by == "olga"
    with state(app).sessions() as s:
        planned = s.execute(sa.select(Delivery.channel, Delivery.action, Delivery.status)
                            .where(Delivery.action == "resolve")).all()
    assert planned == [("webhook", "resolve", "pending")]  # the webhook was told it started; email never was
    data = client.get(f"/oncall/alerts/{incident_id}.json").get_json()
    assert data["status"] == "resolved" and len(data["deliveries"]) == 2
    assert client.post("/oncall/alerts/999/resolve", data={"csrf_token": token}).status_code == 404


# --- signed links ------------------------------------------------------------------------------------

def link_token(app: Flask, incident_id: int, action: str = "acknowledge", hours: float = 24) -> str:
    return make_token("test-secret", incident_id, action, T0, timedelta(hours=hours))


def test_a_signed_link_asks_first_and_acts_on_the_post(app: Flask) -> None:
    incident_id = open_incident(app)
    token = link_token(app, incident_id)
    client = app.test_client()  # not logged in: the link is the credential
    page = client.get(f"/oncall/alerts/act?token={token}")
    assert page.status_code == 200 and "Acknowledge incident #" in page.get_data(as_text=True)
    assert incident_row(app, incident_id).status == "open"  # a link preview must not acknowledge
    csrf = csrf_token(client, f"/oncall/alerts/act?token={token}")
    assert client.post("/oncall/alerts/act", data={"token": token}).status_code == 400  # no CSRF token
    done = client.post("/oncall/alerts/act", data={"token": token, "csrf_token": csrf})
    assert done.status_code == 200 and "is now <strong>acknowledged</strong>" in done.get_data(as_text=True)
    with state(app).sessions() as s:
        (acked,) = s.scalars(sa.select(Acknowledgement)).all()
        (entry,) = s.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == "incident")).all()
    assert (acked.via, acked.user) == ("link", "signed link")
    assert entry.actor == "system" and '"via": "link"' in entry.after


def test_a_logged_in_oncall_user_acting_by_link_is_named_and_sent_to_the_incident(app: Flask) -> None:
    incident_id = open_incident(app)
    client, _ = oncall_client(app)
    token = link_token(app, incident_id, "resolve")
    csrf = csrf_token(client, f"/oncall/alerts/act?token={token}")
    resp = client.post("/oncall/alerts/act", data={"token": token, "csrf_token": csrf})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/oncall/alerts/{incident_id}")
    assert incident_row(app, incident_id).resolved_by == "olga"


def test_forged_expired_and_unknown_links_are_refused(app: Flask) -> None:
    incident_id = open_incident(app)
    client = app.test_client()
    forged = make_token("another-secret", incident_id, "resolve", T0, timedelta(hours=1))
    assert client.get(f"/oncall/alerts/act?token={forged}").status_code == 400
    expired = make_token("test-secret", incident_id, "resolve", T0 - timedelta(hours=2), timedelta(hours=1))
    resp = client.get(f"/oncall/alerts/act?token={expired}")
    assert resp.status_code == 400 and "link expired" in resp.get_data(as_text=True)
    assert client.get("/oncall/alerts/act?token=nonsense").status_code == 400
    assert client.get(f"/oncall/alerts/act?token={link_token(app, 999)}").status_code == 404
    assert incident_row(app, incident_id).status == "open"
