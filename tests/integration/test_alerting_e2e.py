"""End to end on the real engines and real processes, in real time: the demo incident is produced into
mentions.raw at its own pace -> the `listening-center worker` process scores it and runs spike detection
-> alerts.spikes -> the `listening-center alerter` process -> one webhook call and one mail -> nobody
acknowledges -> escalated -> acknowledged in the console -> no further notifications. The `indexer`
process puts the scored mentions in Elasticsearch, where the console's incident page finds its counts and
samples.

Time: the scenario is laid on the wall clock so that its surge starts at a minute boundary about a minute
after the test starts. The 30 quiet minutes before that are history (produced at once: the worker drives
its buckets by event time, so history replays as it would have run live); from there on each post is
produced when its `created_at` comes. The incident time to the first notification is then simply the wall
clock from the surge's start to the webhook call, with every component in the chain real.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer

from alerting.outbox import AlertRecord, Delivery, Incident
from infra.db import transaction
from infra.settings import Settings
from listeners.sources import demo
from stream import documents, es_admin
from stream.schema import SpikeAlert, parse_time
from tests.conftest import Processes, settings_env, wait_for
from tests.integration.alert_servers import Mailbox, Receiver, http_receiver, smtp_server
from web import create_app
from web.accounts import create_user
from web.identity import RecordingPublisher

pytestmark = pytest.mark.integration

RATE = 5.0  # posts a second: the demo's default volume (LC_DEMO_RATE)
SEED = 11
QUIET = timedelta(minutes=30)  # the incident scenario's surge starts 30 minutes in
LEAD = 60.0  # seconds at least between the test's start and the surge: the worker starts and catches up (~20 s)
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


class PacedReplay:
    """The demo incident into mentions.raw on the wall clock: the past at once, the rest as it happens."""

    def __init__(self, settings: Settings, onset: datetime) -> None:
        self.settings, self.onset = settings, onset
        start = onset - QUIET
        posts = demo.generate("incident", SEED, start, duration=QUIET + timedelta(minutes=10),
                              per_minute=RATE * 60)
        mentions = [(when, demo.to_mention(p, with_truth=True)) for when, p in posts]
        self.posts = [(when, m) for when, m in mentions if m.brand]  # what the rules would keep
        self.history = sum(1 for when, _ in self.posts if when < onset)
        self.sent = 0
        self.stop = threading.Event()
        self.producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        topic = self.settings.topic("mentions.raw")
        for when, mention in self.posts:
            wait = (when - datetime.now(UTC)).total_seconds()
            if wait > 0:
                self.producer.flush()
                if self.stop.wait(wait):
                    return
            # Keyed by id as the listeners do: the bulk of history reaches the worker out of time order.
            self.producer.send(topic, mention.to_json(), key=mention.id.encode())
            self.sent += 1
        self.producer.flush()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.producer.close()


class Counter:
    """Counts records on a topic in the background (how far the worker has got)."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.consumer = KafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap,
                                      auto_offset_reset="earliest", fetch_max_bytes=16 * 1024 * 1024)
        self.count = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            for records in self.consumer.poll(timeout_ms=200).values():
                self.count += len(records)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.consumer.close()


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


def next_minute(after: datetime) -> datetime:
    return after.replace(second=0, microsecond=0) + timedelta(minutes=1)


@pytest.mark.timeout(420)
def test_demo_incident_is_delivered_once_escalated_and_silenced_from_the_console(
    lc: Settings, tmp_path: Path, processes: Processes, receivers: tuple[Receiver, str, Mailbox, int],
) -> None:
    receiver, url, mailbox, smtp_port = receivers
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    settings = dataclasses.replace(
        lc, alert_routes=str(routes), alert_webhook_url=url, alert_webhook_secret="hook-secret",
        alert_smtp_host="127.0.0.1", alert_smtp_port=smtp_port, alert_email_from="alerts@lc.test",
        alert_email_to="oncall@lc.test", public_url="http://console.lc.test",
    )  # every timing setting (worker, alerter poll, retries) at its default
    env = settings_env(settings)
    onset = next_minute(datetime.now(UTC) + timedelta(seconds=LEAD))
    replay = PacedReplay(settings, onset)
    scored = Counter(settings, "mentions.scored")
    processes.start("worker", "worker", env=env)
    processes.start("indexer", "indexer", env=env)
    processes.start("alerter", "alerter", env=env)
    replay.thread.start()
    engine = sa.create_engine(settings.db_url)

    def recorded() -> list[SpikeAlert]:
        with engine.connect() as c:
            return [SpikeAlert.from_json(p) for p in c.scalars(sa.select(AlertRecord.payload).order_by(AlertRecord.id))]

    try:
        # The chain must be live before the incident starts, as a running installation would be.
        wait_for(lambda: scored.count >= replay.history, timeout=max(5.0, (onset - datetime.now(UTC)).total_seconds()),
                 interval=0.5, what=f"the worker to score the {replay.history} posts of history before the surge "
                 f"(scored: {scored.count})")
        caught_up = (onset - datetime.now(UTC)).total_seconds()
        assert not recorded(), recorded()  # thirty calm minutes: nothing raised
        wait_for(lambda: receiver.accepted and mailbox.messages, timeout=240, interval=0.05,
                 what="the first notification of the incident")
        first_notice = time.monotonic()
        notified_at = datetime.now(UTC)
        first = receiver.accepted[0].json()
        assert first["action"] == "trigger" and first["alert"]["brand"] == "skyway", recorded()
        assert first["links"]["console"] == f"http://console.lc.test/oncall/alerts/{first['incident']['id']}"
        assert receiver.bad_signatures == 0
        opened = SpikeAlert.from_dict(first["alert"])
        assert opened.status == "open"
        time.sleep(2)  # anything else that alert caused would be out by now (poll: 1 s)
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

        # The surge goes on; past the time tier 2 would have been paged, nobody else has been told, and
        # every spike message so far is about the one incident.
        time.sleep(max(first_notice + SILENCED_MIN * 60 + 5 - time.monotonic(), 3.0))
        assert len(receiver.accepted) == 2 and len(mailbox.messages) == 2
        assert receiver.duplicates == 0
        alerts = recorded()
        assert {a.dedupe_key for a in alerts if a.kind == "spike"} == {opened.dedupe_key}, alerts
        with engine.connect() as c:
            row = c.execute(sa.select(Incident.status, Incident.acknowledged_by, Incident.next_tick_at)
                            .where(Incident.id == incident_id)).one()
            deliveries = c.execute(sa.select(Delivery.action, Delivery.status)).all()
        assert row.status == "acknowledged" and row.acknowledged_by == "olga" and row.next_tick_at is None
        assert sorted(deliveries) == [("escalate", "delivered")] * 2 + [("trigger", "delivered")] * 2
    finally:
        replay.close()
        scored.close()
        engine.dispose()

    report = {
        "demo_rate_per_second": RATE,
        "onset": onset.isoformat(),
        "history_posts": replay.history,
        "worker_caught_up_s_before_onset": round(caught_up, 1),
        "alert": {"dedupe_key": opened.dedupe_key, "window": [opened.window_start, opened.window_end],
                  "observed": opened.observed, "expected": opened.expected, "score": opened.score,
                  "severity": opened.severity, "top_terms": opened.top_terms},
        "onset_to_detected_at_s": round((parse_time(opened.detected_at) - onset).total_seconds(), 1),
        "onset_to_first_notification_s": round((notified_at - onset).total_seconds(), 1),
        "alerts": [f"{a.status} {a.dedupe_key} {a.severity}" for a in alerts],
    }
    out = Path(__file__).resolve().parents[2] / "test-artifacts" / "alerting-e2e.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
