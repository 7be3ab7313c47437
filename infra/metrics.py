"""Prometheus metrics of every long-running process, defined once here so names and labels never drift.

Each process calls `serve(settings, component)` at start: an HTTP endpoint on LC_METRICS_HOST at
LC_METRICS_PORT + the component's offset + LC_METRICS_INSTANCE (so worker@1 and worker@2 on one host do not
collide); LC_METRICS_PORT=0 (the default) serves nothing. The console serves the same registry on its
own /metrics route instead (web/operator.py).

Label values are bounded on purpose: a dead-letter reason is reduced to a short kind by `reason_kind`,
never the free text, so a flood of bad input cannot blow up the number of series.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Sequence
from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from infra.settings import Settings

log = logging.getLogger("lc.metrics")

# Port offsets from LC_METRICS_PORT, ten apart so instances of a component fit between them.
OFFSETS = {"worker": 0, "indexer": 10, "alerter": 20, "listener": 30}

MENTIONS_IN = Counter("lc_mentions_in_total", "Messages a stage read", ["stage"])
MENTIONS_OUT = Counter("lc_mentions_out_total", "Messages a stage wrote, by outcome", ["stage", "outcome"])
DEAD_LETTERS = Counter("lc_dead_letters_total", "Messages sent to the dead-letter topic", ["stage", "reason"])
ALERT_DELIVERIES = Counter("lc_alert_deliveries_total", "Alert delivery attempts", ["channel", "outcome"])
STAGE_SECONDS = Histogram(
    "lc_stage_seconds", "Time a stage spends on one unit of work (a mention, a bulk request)", ["stage"],
    buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BULK_SIZE = Histogram("lc_indexer_bulk_documents", "Documents per Elasticsearch bulk request",
                      buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000))
CONSUMER_LAG = Gauge("lc_consumer_lag", "Messages behind the end of the topic, per consumer group", ["group"])
INGEST_LAG = Gauge("lc_ingest_lag_seconds", "Post time to Kafka of the newest post sent, per source", ["source"])
FEED_PUBLISHED = Gauge("lc_feed_published", "Scored mentions the console's live feed has published")
FEED_SUBSCRIBERS = Gauge("lc_feed_subscribers", "Browsers connected to the console's live feed")
LISTENER_FETCHED = Counter("lc_listener_fetched_total", "Items a listener fetched from its source", ["source"])

_FIELD = re.compile(r"field '([a-z_]+)")
_KINDS = (
    ("not valid JSON", "invalid_json"),
    ("empty message", "empty"),
    ("bytes, more than", "too_large"),
    ("missing required field", "missing_field"),
    ("newer than this consumer", "newer_version"),
    ("Elasticsearch refused", "es_refused"),
    ("invalid scored mention", "invalid_scored"),
    ("expected a JSON object", "not_an_object"),
)


def reason_kind(reason: str) -> str:
    """A dead-letter reason as a label value: one of a few kinds, or `field_<name>` for a bad field."""
    for needle, kind in _KINDS:
        if needle in reason:
            return kind
    found = _FIELD.search(reason)
    if found and len(found.group(1)) <= 32:
        return f"field_{found.group(1)}"
    return "other"


def port_for(settings: Settings, component: str) -> int | None:
    if not settings.metrics_port:
        return None
    return settings.metrics_port + OFFSETS[component] + settings.metrics_instance


def serve(settings: Settings, component: str) -> int | None:
    """Start the exposition thread for this process; returns the port, or None when metrics are off."""
    port = port_for(settings, component)
    if port is None:
        return None
    try:
        start_http_server(port, addr=settings.metrics_host)
    except OSError as exc:
        # Metrics are for watching the pipeline; a taken port must not stop the pipeline itself.
        log.error("no metrics endpoint: cannot listen on %s:%d: %s", settings.metrics_host, port, exc)
        return None
    log.info("metrics on http://%s:%d/metrics", settings.metrics_host, port)
    return port


def record_step(stage: str, started: float, dead_reason: str | None = None, outcome: str = "scored") -> None:
    """Count one message through a per-message stage, timed from `started` (time.perf_counter())."""
    STAGE_SECONDS.labels(stage).observe(time.perf_counter() - started)
    MENTIONS_IN.labels(stage).inc()
    if dead_reason is None:
        MENTIONS_OUT.labels(stage, outcome).inc()
    else:
        MENTIONS_OUT.labels(stage, "dead").inc()
        DEAD_LETTERS.labels(stage, reason_kind(dead_reason)).inc()


def record_batch(stage: str, received: int, written: int, dead_reasons: list[str], seconds: float) -> None:
    """Count one batch of a batching stage (the indexer's bulk request)."""
    MENTIONS_IN.labels(stage).inc(received)
    MENTIONS_OUT.labels(stage, "indexed").inc(written)
    BULK_SIZE.observe(written + len(dead_reasons))
    STAGE_SECONDS.labels(f"{stage}_bulk").observe(seconds)
    for reason in dead_reasons:
        MENTIONS_OUT.labels(stage, "dead").inc()
        DEAD_LETTERS.labels(stage, reason_kind(reason)).inc()


def record_listener(source: str, created: Sequence[str | None], outcomes: Sequence[str], now: datetime) -> None:
    """Count a listener's batch: items fetched, what became of each, and the ingest lag of the newest sent
    post (`created` holds each item's created_at, None for an unreadable item)."""
    from stream.schema import SchemaError, parse_time

    LISTENER_FETCHED.labels(source).inc(len(outcomes))
    for outcome in outcomes:
        MENTIONS_OUT.labels("listener", outcome).inc()
    sent = [c for c, o in zip(created, outcomes, strict=True) if o == "sent" and c]
    if sent:
        # A malformed time is the worker's to dead-letter; there is just nothing to measure here.
        with contextlib.suppress(SchemaError):
            INGEST_LAG.labels(source).set(max(0.0, (now - parse_time(max(sent))).total_seconds()))
