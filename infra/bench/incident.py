"""Incident start to alert delivery: the demo incident replayed on event time through the real `worker`,
`alerts.spikes` and the real `alerter` to a local webhook.

The scenario is placed so that its surge starts a few seconds from now: its quiet first half hour lies in the
past and is sent at once (history the detector learns its level from), and every later post is sent when the
wall clock reaches its `created_at`, as a live source would deliver it. So the time from the surge's first
second to the webhook call is what on-call would wait in production: the detector's own decision (the
alert's `detected_at`, on the scenario's clock, is the reference) plus what the pipeline and alerter add.
Probes that warm the worker carry no brand, so the detector sees only the scenario.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.bench import kafka_io
from infra.bench.components import Components
from infra.bench.memory import PeakSampler
from infra.bench.progress import bar
from infra.bench.receiver import WebhookReceiver
from infra.bench.sandbox import sandbox
from infra.bench.stages import Plan, StageError, alive_check, wait_ready
from infra.bench.stats import Comparison, Summary
from infra.settings import Settings
from stream.schema import Mention, SpikeAlert, parse_time

SEED = 11
PER_MINUTE = 300.0  # the demo's default volume (5 posts/s)
QUIET = timedelta(minutes=30)  # the incident scenario's surge starts 30 minutes in
LEAD = timedelta(seconds=30)  # from the end of warm-up to the surge: the history is sent and scored by then
ROUTES = """\
timezone: UTC
policies:
  bench:
    - {after_minutes: 0, targets: [webhook]}
routes:
  - {name: default, policy: bench}
"""


@dataclass(frozen=True)
class Clock:
    """Ties event time to the bench's perf_counter at one instant, so both can be compared exactly."""

    wall: datetime
    perf: float

    def perf_of(self, when: datetime) -> float:
        return self.perf + (when - self.wall).total_seconds()

    @classmethod
    def now(cls) -> Clock:
        return cls(datetime.now(UTC), time.perf_counter())


def scenario(onset: datetime, length: timedelta) -> list[Mention]:
    """The demo incident placed so that its surge starts at `onset` (brands and topics from the generator)."""
    from listeners.sources.demo import generate, to_mention

    start = onset - QUIET
    return [to_mention(p, with_truth=True) for _, p in generate("incident", SEED, start, duration=QUIET + length,
                                                                 per_minute=PER_MINUTE)]


def first_open_spike(alerts: Sequence[tuple[float, SpikeAlert]]) -> tuple[float, SpikeAlert] | None:
    """The earliest alert that opened a spike incident, by arrival."""
    opened = [(t, a) for t, a in alerts if a.kind == "spike" and a.status == "open"]
    return min(opened, key=lambda x: x[0]) if opened else None


def figures(onset: datetime, clock: Clock, alert: SpikeAlert, alert_seen: float, delivered: float | None
            ) -> dict[str, float | None]:
    """Seconds from the surge's start: to the alert's `detected_at` (the event time at which the detector
    decided, on the scenario's own clock), to the alert on alerts.spikes, and to the webhook call (both
    measured on the bench's clock). The gaps between them are what the pipeline and the alerter add."""
    start = clock.perf_of(onset)
    return {
        "decided": (parse_time(alert.detected_at) - onset).total_seconds(),
        "on_topic": alert_seen - start,
        "delivered": None if delivered is None else delivered - start,
    }


def alert_value(_key: bytes | None, value: bytes | None) -> str | None:
    """Arrivals keyed by the whole message: every alert (open, update) is kept, with its arrival."""
    return value.decode() if value else None


def _replay(prod: Any, topic: str, posts: Sequence[Mention], clock: Clock, done: Callable[[], bool],
            check: Callable[[], None], progress: bool | None) -> int:
    """Send each post when the wall clock reaches its created_at; stop once `done()` (the alert arrived).

    Posts already due go out back to back; the producer is flushed before each wait, so a live post leaves
    when it is due rather than after the linger."""
    n = 0
    with bar(len(posts), "incident replay (event time)", enabled=progress) as b:
        for m in posts:
            due = clock.perf_of(parse_time(m.created_at))
            if due > time.perf_counter():
                prod.flush()
            while (wait := due - time.perf_counter()) > 0:
                if done():
                    return n
                check()
                time.sleep(min(wait, 0.2))
            prod.send(topic, m.to_json(), key=m.id.encode())
            n += 1
            b.update(1)
    prod.flush()
    return n


def incident(base: Settings, plan: Plan, sampler: PeakSampler, max_wait: timedelta = timedelta(minutes=6)
             ) -> list[Comparison]:
    receiver = WebhookReceiver()
    with receiver.serve() as url, sandbox(base, "inc") as sandboxed:
        routes = sandboxed.runtime_dir / "routes.yaml"
        routes.parent.mkdir(parents=True, exist_ok=True)
        routes.write_text(ROUTES)
        settings = dataclasses.replace(sandboxed, alert_routes=str(routes), alert_webhook_url=url,
                                       alert_webhook_secret=secrets.token_hex(16))
        comps = Components(settings, settings.runtime_dir / "logs")
        prod = kafka_io.producer(settings.kafka_bootstrap)
        scored = kafka_io.Arrivals(settings.kafka_bootstrap, settings.topic("mentions.scored"),
                                   kafka_io.scored_id).start()
        alerts = kafka_io.Arrivals(settings.kafka_bootstrap, settings.topic("alerts.spikes"), alert_value).start()
        try:
            comps.start("alerter", "alerter")
            comps.start("worker", "worker")
            sampler.watch("worker", lambda: comps.pids("worker"))
            sampler.watch("alerter", lambda: comps.pids("alerter"))
            wait_ready(comps, settings, scored, prod, plan, branded=False)
            check = alive_check(comps, "worker", "alerter")
            onset = datetime.now(UTC) + LEAD
            posts = scenario(onset, max_wait)
            clock = Clock.now()
            _replay(prod, settings.topic("mentions.raw"), posts, clock, lambda: receiver.first() is not None
                    or clock.perf_of(onset + max_wait) < time.perf_counter(), check, plan.progress)
            got = receiver.first()
            seen = [(t, SpikeAlert.from_json(v)) for v, t in list(alerts.seen.items())]
            opened = first_open_spike(seen)
            if opened is None or got is None:
                raise StageError(f"incident: no {'alert' if opened is None else 'webhook call'} within "
                                 f"{max_wait.total_seconds():.0f}s of the surge; alerter log ends:\n"
                                 f"{comps.log_tail('alerter')}\nworker log ends:\n{comps.log_tail('worker')}")
        finally:
            comps.stop_all()
            alerts.stop()
            scored.stop()
            prod.close()
    fig = figures(onset, clock, opened[1], opened[0], got[0])
    floor = Summary.once("the alert's detected_at (event time)", fig["decided"] or 0.0,
                         note=f"{opened[1].brand}/{opened[1].category or '-'}, observed {opened[1].observed} "
                              f"vs {opened[1].expected:.1f}")
    return [
        Comparison("incident", Summary.once("surge start -> open alert on alerts.spikes", fig["on_topic"] or 0.0,
                                            note="real worker"), floor),
        Comparison("incident", Summary.once("surge start -> webhook delivery", fig["delivered"] or 0.0,
                                            note="worker + alerter; goal 120 s"), floor),
    ]
