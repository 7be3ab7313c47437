"""End to end on the real engines: the demo incident replayed into mentions.raw -> the worker's scoring step
and spike detector -> alerts.spikes -> the `listening-center alerter` process -> one webhook call and one
mail -> nobody acknowledges -> escalated -> acknowledged in the console -> no further notifications,
while the detector keeps sending updates. The `indexer` process puts the scored mentions in
Elasticsearch, where the console's incident page finds its counts and samples.

Why the worker's steps run here and not in the `worker` process: its detector closes buckets on the wall
clock (`tick(now - LATENESS)` every TICK_SECONDS), so 30 minutes of history replayed in seconds is cut by
ticks mid-replay, and the rest of the history lands in one bucket ("late") and raises false incidents
(seen in the first runs of this test). Here the same pure step (stream.pipeline.Step) and the same
detector (stream.spikes, default DetectorConfig) run with the worker's observe/tick code on a clock that
follows the replay, so the time from the incident's start to the detection is the incident time a live
worker would take, and the alerter's part is measured on the wall clock with the real process.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from kafka import KafkaProducer

from alerting.outbox import AlertRecord, Delivery, Incident
from infra.db import transaction
from infra.settings import Settings
from listeners.sources import demo
from stream import documents, es_admin
from stream.identity import IdentityTable
from stream.pipeline import RepeatCounter, Step
from stream.schema import ScoredMention, SpikeAlert, parse_time
from stream.scoring import Scorer
from stream.spikes import DetectorConfig, SpikeDetector
from stream.worker import LATENESS, TICK_SECONDS
from tests.conftest import Processes, settings_env, wait_for
from tests.integration.alert_servers import Mailbox, Receiver, http_receiver, smtp_server
from web import create_app
from web.accounts import create_user
from web.identity import RecordingPublisher

pytestmark = pytest.mark.integration

RATE = 5.0  # posts a second: the demo's default volume (LC_DEMO_RATE)
SEED = 11
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # a weekday afternoon, the demo's busy hours
ONSET = START + timedelta(minutes=30)  # where the incident scenario's surge starts
LENGTH = timedelta(minutes=40)  # 30 quiet minutes, then 10 of the surge
ESCALATE_MIN, SILENCED_MIN = 0.15, 0.5  # minutes: tier 1 (escalation), tier 2 (must never be sent)
ROUTES = f"""
timezone: UTC
cooldown_minutes: 30
policies:
  oncall:
    - {{after_minutes: 0, targets: [webhook, email]}}
    - {{after_minutes: {ESCALATE_MIN}, targets: [webhook, "email:duty-manager@lc.test"]}}
    - {{after_minutes: {SILENCED_MIN}, targets: [webhook, "email:director@lc.test"]}}
routes:
  - {{name: default, policy: oncall}}
"""
PASSWORD = "a long on-call password"


class Replay:
    """The demo incident through the worker's scoring step and spike detection, on the replay's clock."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        posts = demo.generate("incident", SEED, START, duration=LENGTH, per_minute=RATE * 60)
        self.posts = [(when, demo.to_mention(p, with_truth=True)) for when, p in posts]
        self.step = Step(scorer=Scorer(), identities=IdentityTable(), clock=lambda: self.now,
                         repeats=RepeatCounter())
        self.detectors: dict[str, SpikeDetector] = {}
        self.now = START
        self.next_tick = START + timedelta(seconds=TICK_SECONDS)
        self.i = 0
        self.producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20)

    def _tick(self, until: datetime) -> list[tuple[datetime, SpikeAlert]]:
        found = []
        while self.next_tick <= until:
            self.now = self.next_tick
            for det in self.detectors.values():
                found += [(self.now, a) for a in det.tick(self.now - LATENESS)]
            self.next_tick += timedelta(seconds=TICK_SECONDS)
        return found

    def run(self, stop_at_open: bool) -> list[tuple[datetime, SpikeAlert]]:
        """Replay on; with `stop_at_open`, only up to the tick that opens the first incident."""
        alerts: list[tuple[datetime, SpikeAlert]] = []
        topic = self.settings.topic
        while self.i < len(self.posts):
            when, mention = self.posts[self.i]
            alerts += self._tick(when)
            if stop_at_open and any(a.status == "open" for _, a in alerts):
                break
            self.now = when
            self.i += 1
            self.producer.send(topic("mentions.raw"), mention.to_json(), key=mention.id.encode())
            scored = self.step(mention.to_json(), topic("mentions.raw"), 0, self.i)
            assert isinstance(scored, ScoredMention)
            self.producer.send(topic("mentions.scored"), scored.to_json(), key=(mention.brand or "-").encode())
            if mention.brand:  # what the worker's detect_spikes agent does with each scored mention
                det = self.detectors.setdefault(mention.brand, SpikeDetector(DetectorConfig(), clock=lambda: self.now))
                at = parse_time(mention.created_at)
                negative = scored.sentiment.label == "negative"
                det.observe((mention.brand, None), at, negative, mention.id, mention.text)
                for category in scored.categories:
                    det.observe((mention.brand, category), at, negative, mention.id, mention.text)
        else:
            alerts += self._tick(START + LENGTH + LATENESS)
        for _, alert in alerts:
            self.producer.send(topic("alerts.spikes"), alert.to_json(), key=alert.dedupe_key.encode())
        self.producer.flush()
        return alerts

    def close(self) -> None:
        self.producer.close()


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, str, Mailbox, int]]:
    receiver, mailbox = Receiver(secret="hook-secret"), Mailbox()
    with http_receiver(receiver) as url, smtp_server(mailbox) as port:
        yield receiver, url, mailbox, port


def es_ids(settings: Settings, ids: list[str]) -> set[str]:
    es = es_admin.client(settings.es_url)
    alias = documents.read_alias(settings.index_prefix)
    if not es.indices.exists_alias(name=alias):
        return set()
    es.indices.refresh(index=alias)
    resp = es.search(index=alias, query={"ids": {"values": ids}}, size=len(ids), source=False)
    return {h["_id"] for h in resp["hits"]["hits"]}


def console_client(settings: Settings):  # type: ignore[no-untyped-def]
    """The console on the alerter's database, logged in as an on-call engineer through the real form."""
    app = create_app(settings, TESTING=True, START_FEED=False, IDENTITY_PUBLISHER=RecordingPublisher())
    with transaction(app.extensions["listening_center"].sessions) as s:
        create_user(s, "olga", "oncall", PASSWORD, datetime.now(UTC))
    client = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token
    resp = client.post("/login", data={"username": "olga", "password": PASSWORD, "csrf_token": token.group(1)})
    assert resp.status_code == 302
    return client


@pytest.fixture
def replay(lc: Settings) -> Iterator[Replay]:
    r = Replay(lc)
    yield r
    r.close()


@pytest.mark.timeout(300)
def test_demo_incident_is_delivered_once_escalated_and_silenced_from_the_console(
    lc: Settings, tmp_path: Path, processes: Processes, receivers: tuple[Receiver, str, Mailbox, int],
    replay: Replay,
) -> None:
    receiver, url, mailbox, smtp_port = receivers
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    settings = dataclasses.replace(
        lc, alert_routes=str(routes), alert_webhook_url=url, alert_webhook_secret="hook-secret",
        alert_smtp_host="127.0.0.1", alert_smtp_port=smtp_port, alert_email_from="alerts@lc.test",
        alert_email_to="oncall@lc.test", public_url="http://console.lc.test",
    )  # every timing setting (alerter poll, retries) at its default
    env = settings_env(settings)
    processes.start("indexer", "indexer", env=env)
    processes.start("alerter", "alerter", env=env)
    time.sleep(5)  # the alerter joins its consumer group, as a running one would have long ago
    engine = sa.create_engine(settings.db_url)

    def recorded() -> list[SpikeAlert]:
        with engine.connect() as c:
            return [SpikeAlert.from_json(p) for p in c.scalars(sa.select(AlertRecord.payload).order_by(AlertRecord.id))]

    try:
        first_alerts = replay.run(stop_at_open=True)
        produced = time.monotonic()
        (ticked_at, opened), = [(t, a) for t, a in first_alerts if a.status == "open"]
        wait_for(lambda: receiver.accepted and mailbox.messages, timeout=60, interval=0.05,
                 what="the first notification of the incident")
        alerter_seconds = time.monotonic() - produced
        first_notice = time.monotonic()
        first = receiver.accepted[0].json()
        assert first["action"] == "trigger" and first["alert"]["brand"] == "skyway", recorded()
        assert first["links"]["console"] == f"http://console.lc.test/oncall/alerts/{first['incident']['id']}"
        assert receiver.bad_signatures == 0
        wait_for(lambda: len(recorded()) == len(first_alerts), timeout=30, what="every alert in the outbox")
        time.sleep(2)  # anything else those alerts caused would be out by now (poll: 1 s)
        assert len(receiver.accepted) == 1 and len(mailbox.messages) == 1  # one incident, told once
        assert mailbox.envelopes[0][1] == ["oncall@lc.test"]

        # Nobody acknowledges: the next tier hears about it.
        wait_for(lambda: len(receiver.accepted) == 2 and len(mailbox.messages) == 2, timeout=60,
                 what="the escalation")
        assert receiver.accepted[1].json()["action"] == "escalate"
        assert mailbox.envelopes[1][1] == ["duty-manager@lc.test"]

        # The on-call engineer opens the console: the incident, its chart and samples from Elasticsearch.
        client = console_client(settings)
        incident_id = first["incident"]["id"]
        assert [i["id"] for i in client.get("/oncall/alerts.json").get_json()["open"]] == [incident_id]
        wait_for(lambda: es_ids(settings, opened.sample_ids) == set(opened.sample_ids), timeout=60,
                 what="the sample mentions in Elasticsearch")
        page = client.get(f"/oncall/alerts/{incident_id}").get_data(as_text=True)
        assert '<svg id="chart"' in page and 'class="bar spike"' in page
        assert page.count('<li class="item') == len(opened.sample_ids)  # every sample, read by id
        assert "escalate" in page and "delivered" in page  # the delivery history
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf
        resp = client.post(f"/oncall/alerts/{incident_id}/acknowledge", data={"csrf_token": csrf.group(1)})
        assert resp.status_code == 302

        # The surge goes on and the detector keeps updating; past the time tier 2 would have been paged,
        # nobody else has been told.
        later = replay.run(stop_at_open=False)
        wait_for(lambda: len(recorded()) == len(first_alerts) + len(later), timeout=30,
                 what="the later alerts in the outbox")
        time.sleep(max(first_notice + SILENCED_MIN * 60 + 5 - time.monotonic(), 3.0))
        assert len(receiver.accepted) == 2 and len(mailbox.messages) == 2
        assert receiver.duplicates == 0
        with engine.connect() as c:
            row = c.execute(sa.select(Incident.status, Incident.acknowledged_by, Incident.next_tick_at)
                            .where(Incident.id == incident_id)).one()
            deliveries = c.execute(sa.select(Delivery.action, Delivery.status)).all()
        assert row.status == "acknowledged" and row.acknowledged_by == "olga" and row.next_tick_at is None
        assert sorted(deliveries) == [("escalate", "delivered")] * 2 + [("trigger", "delivered")] * 2
    finally:
        engine.dispose()

    detected = (ticked_at - ONSET).total_seconds()  # the live worker's tick that would have sent it
    report = {
        "demo_rate_per_second": RATE,
        "posts": len(replay.posts),
        "alert": {"dedupe_key": opened.dedupe_key, "window": [opened.window_start, opened.window_end],
                  "observed": opened.observed, "expected": opened.expected, "severity": opened.severity,
                  "top_terms": opened.top_terms},
        "onset_to_bucket_end_s": (parse_time(opened.detected_at) - ONSET).total_seconds(),
        "onset_to_worker_tick_s": detected,
        "alert_to_first_notification_s": round(alerter_seconds, 2),
        "incident_time_to_first_notification_s": round(detected + alerter_seconds, 1),
        "alerts": [f"{a.status} {a.dedupe_key} {a.severity}" for _, a in first_alerts + later],
    }
    out = Path(__file__).resolve().parents[2] / "test-artifacts" / "alerting-e2e.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
