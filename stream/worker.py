"""The stream worker: faust-streaming agents around the pure steps in stream/pipeline.py and stream/spikes.

Delivery: at-least-once. An agent reports each record it has finished (`faust_fixes.processed`), and the
commit of mentions.raw and mentions.scored is the contiguous run of finished offsets (stream/commit_guard.py,
not faust's own ack list, which can commit past records that never reached the agent). Before it commits,
faust flushes the producer (faust/transport/consumer.py `_commit_offsets`), so a scored mention is in Kafka
before its raw offset is committed. A crash replays the uncommitted tail; the indexer's `_id` = mention id
and the alerts' dedupe keys make the replay harmless.

Agents:
- `score_mentions`: mentions.raw -> validate/score/enrich -> mentions.scored (key: brand) or mentions.deadletter.
- `detect_spikes`: mentions.scored (co-partitioned by brand) -> spike detector per brand, state in a faust
  table so it survives a restart; a timer closes buckets and sends alerts to alerts.spikes.
- `identity_reader`: a group-less reader of the compacted identity.links (every worker needs every link).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any, cast

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition

from infra import logs, metrics
from infra.settings import Settings
from stream import faust_fixes
from stream.identity import IdentityTable
from stream.pipeline import RepeatCounter, Step
from stream.schema import DeadLetter, SchemaError, spike_input
from stream.spikes.watermark import LIVE_LATENESS, LowWatermark
from stream.watchdog import STALL_EXIT_CODE, StallWatch

log = logging.getLogger("lc.worker")

TICK_SECONDS = 5.0
IDLE_SECONDS = 60.0  # a brand with no mention for this long is ticked by the wall clock
PERSIST_SECONDS = 10.0
# Mention ids remembered per brand to skip a mention scored twice: a restart re-reads up to the watchdog's
# 120 s of raw mentions; 5,000 ids cover that at the demo's rates and cost ~50 kB in the saved state.
RECENT_IDS = 5_000


def clock() -> datetime:
    return datetime.now(UTC)


def build_app(settings: Settings) -> faust.App:
    # Commit the source topics only past what the agents processed (faust alone can commit past a record
    # that never reached them: stream/faust_fixes.py).
    faust_fixes.install([settings.topic("mentions.raw"), settings.topic("mentions.scored")])
    datadir = settings.runtime_dir / "faust" / (settings.topic_prefix or "default")
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.topic_prefix}listening-center",
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        topic_partitions=4,
        topic_replication_factor=settings.kafka_replication,
        producer_acks=-1,
        # Batch what the agents produce for 10 ms: one produce request per message made socket writes the
        # worker's largest single cost under load (py-spy), for a delay nobody in care can notice.
        producer_linger=0.01,
        web_enabled=False,
        datadir=str(datadir),
        broker_commit_every=500,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        consumer_group_instance_id=settings.worker_instance_id or None,  # static membership when set
    )
    raw_topic = app.topic(settings.topic("mentions.raw"), value_serializer="raw", key_serializer="raw")
    scored_topic = app.topic(settings.topic("mentions.scored"), value_serializer="raw", key_serializer="raw")
    dead_topic = app.topic(settings.topic("mentions.deadletter"), value_serializer="raw", key_serializer="raw")
    alerts_topic = app.topic(settings.topic("alerts.spikes"), value_serializer="raw", key_serializer="raw")

    from stream.scoring import Scorer

    identities = IdentityTable()
    step = Step(scorer=Scorer(), identities=identities, clock=clock, repeats=RepeatCounter())
    state: dict[str, Any] = {"scored": 0, "dead": 0, "links": 0, "alerts": 0}

    scored_name, dead_name = scored_topic.get_topic_name(), dead_topic.get_topic_name()

    @app.agent(raw_topic)
    async def score_mentions(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            msg = event.message
            started = time.perf_counter()
            result = step(event.value, msg.topic, msg.partition, msg.offset)
            metrics.record_step("worker", started, result.reason if isinstance(result, DeadLetter) else None)
            if isinstance(result, DeadLetter):
                mention_id = msg.key.decode("utf-8", "replace")[:300] if msg.key else None  # listeners key by id
                log.info("dead-lettered: %s", result.reason[:500], extra={"mention_id": mention_id})
                state["dead"] += 1
                await send(app, dead_name, msg.key, result.to_json(), msg)
            else:
                state["scored"] += 1
                log.debug("scored %s", result.sentiment.label, extra={"mention_id": result.mention.id})
                await send(app, scored_name, (result.mention.brand or "-").encode(), result.to_json(), msg)

    @app.task
    async def identity_reader() -> None:
        # A group-less consumer from the beginning: a GlobalTable by hand, because every worker must see
        # every link, and the compacted topic *is* the table. It restarts itself after an error (logged)
        # rather than leave the worker running without enrichment.
        while True:
            try:
                await _read_identities(settings, identities, state)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("identity reader failed; restarting in 2s")
                await asyncio.sleep(2)

    _add_spike_agents(app, settings, scored_topic, alerts_topic, state)

    @app.timer(interval=30.0)
    async def report() -> None:
        log.info("worker: %s", state)

    watch = StallWatch(stall_seconds=settings.worker_stall_seconds)

    @app.timer(interval=15.0)
    async def watchdog() -> None:
        topic = raw_topic.get_topic_name()
        assigned = {tp.partition for tp in app.consumer.assignment() if tp.topic == topic}
        try:
            offsets = await asyncio.to_thread(_raw_offsets, settings, app.conf.id, topic, assigned)
        except Exception:  # the broker is away: that is not a stall of ours
            log.warning("watchdog: could not read the offsets", exc_info=True)
            return
        stalled = watch.check(time.monotonic(), offsets)
        if stalled:
            holes = {f"{tp.topic}[{tp.partition}]": offset for tp, offset in faust_fixes.guard.holes().items()}
            log.error("worker stalled: partitions %s of %s have mentions waiting and their committed offset has "
                      "not moved for %.0fs (records processed past a gap, waiting for: %s); exiting so the "
                      "supervisor restarts it (it resumes from the committed offsets)", sorted(stalled), topic,
                      watch.stall_seconds, holes or "none")
            logging.shutdown()
            os._exit(STALL_EXIT_CODE)

    return app


async def send(app: faust.App, topic: str, key: bytes | None, value: bytes, source: Any) -> None:
    """Produce what the agent made of `source` (a mentions.raw record); once Kafka has it, the record counts
    as processed and its offset may be committed (stream/commit_guard.py). Not delivered (the broker away
    past every retry): it stays unprocessed, the commit stops before it, and the watchdog's restart reads it
    again. Straight to the producer: faust's Topic.send wraps each message in futures and callbacks that
    cost a tenth of the worker's time at saturation (py-spy); faust flushes the producer before a commit."""
    delivery = await app.producer.send(topic, key, value, partition=None, timestamp=None, headers=None)

    def delivered(fut: asyncio.Future[Any]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            log.error("could not produce to %s (offset %s of %s[%s] will be read again): %s", topic,
                      source.offset, source.topic, source.partition, "cancelled" if fut.cancelled() else
                      fut.exception())
            return
        faust_fixes.processed(source)

    cast("asyncio.Future[Any]", delivery).add_done_callback(delivered)


def _raw_offsets(settings: Settings, group: str, topic: str, partitions: set[int]) -> dict[int, tuple[int, int]]:
    """partition -> (the group's committed offset, end offset), for these partitions (all when none assigned)."""
    from kafka import KafkaAdminClient, KafkaConsumer
    from kafka import TopicPartition as KafkaTP

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=5000)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=5000)
    try:
        tps = [KafkaTP(topic, p) for p in (partitions or consumer.partitions_for_topic(topic) or set())]
        committed = admin.list_consumer_group_offsets(group, partitions=tps)
        ends = consumer.end_offsets(tps)
        return {tp.partition: (max(0, committed[tp].offset) if tp in committed else 0, ends[tp]) for tp in tps}
    finally:
        consumer.close()
        admin.close()


def _partitions_of(bootstrap: str, topic: str) -> set[int]:
    # aiokafka only learns metadata of topics it subscribes to; kafka-python asks the broker directly.
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        return set(consumer.partitions_for_topic(topic) or ())
    finally:
        consumer.close()


async def _read_identities(settings: Settings, identities: IdentityTable, state: dict[str, Any]) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        topic = settings.topic("identity.links")
        parts = await asyncio.to_thread(_partitions_of, settings.kafka_bootstrap, topic)
        if not parts:
            raise RuntimeError(f"topic {topic} does not exist (run `listening-center topics`)")
        consumer.assign([TopicPartition(topic, p) for p in parts])
        await consumer.seek_to_beginning()
        async for rec in consumer:
            error = identities.apply(rec.key, rec.value)
            state["links"] = len(identities)
            if error:
                log.warning("identity.links offset %s: %s", rec.offset, error)
    finally:
        await consumer.stop()


def _add_spike_agents(app: faust.App, settings: Settings, scored_topic: faust.TopicT,
                      alerts_topic: faust.TopicT, state: dict[str, Any]) -> None:
    """Spike detection driven by event time.

    Buckets close when the brand's low watermark (the oldest `created_at` among its last few seconds of
    mentions: `stream/spikes/watermark.py`) less LIVE_LATENESS passes them, so a backlog read partition by
    partition, out of time order, or a replay of history sees the same buckets as a live run. After each
    mention the detector also tests the still-open bucket, so a spike is raised as soon as the counts so
    far show it, not at the close. A brand that has gone quiet is ticked by the wall clock instead
    (IDLE_SECONDS after its last mention), which is what lets silence be detected.
    """
    from stream.spikes import DetectorConfig, SpikeDetector
    from stream.spikes.snapshot import Pending, RecentIds, already_counted, pack, unpack

    # Detector state per brand, changelogged by faust so it survives a restart, with the offsets of
    # mentions.scored it already counts (stream/spikes/snapshot.py): a restart neither counts a mention
    # twice nor misses one, because the commit passes a mention only once a saved state includes it.
    table = app.Table("spike-state", default=None, partitions=4)
    detectors: dict[str, SpikeDetector] = {}
    applied: dict[str, dict[int, int]] = {}
    recent: dict[str, RecentIds] = {}
    pending: dict[str, Pending] = {}
    partition_of: dict[str, int] = {}  # the mentions.scored partition of each brand (keyed by brand)
    watermarks: dict[str, LowWatermark] = {}
    last_seen: dict[str, float] = {}

    def detector_for(brand: str) -> SpikeDetector:
        det = detectors.get(brand)
        if det is None:
            saved = table.get(brand)
            if saved:
                restored, applied[brand], ids = unpack(saved)
                det = SpikeDetector.from_dict(restored, clock=clock)
            else:
                det, applied[brand], ids = SpikeDetector(DetectorConfig(), clock=clock), {}, []
            recent[brand] = RecentIds(RECENT_IDS, ids)
            detectors[brand], pending[brand] = det, Pending()
        return det

    def save(brand: str) -> None:
        table[brand] = pack(detectors[brand].to_dict(), applied[brand], recent[brand].to_list())
        for tp, offset in pending[brand].take():
            faust_fixes.processed_at(tp, offset)

    async def send_alerts(brand: str, now: datetime) -> None:
        for alert in detectors[brand].tick(now, LIVE_LATENESS):
            state["alerts"] += 1
            await alerts_topic.send(key=alert.dedupe_key.encode(), value=alert.to_json())
            log.warning("spike alert %s %s/%s observed=%s expected=%.1f", alert.status, brand, alert.category,
                        alert.observed, alert.expected)

    @app.agent(scored_topic)
    async def detect_spikes(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            if not await observe(event.value, event.message):
                faust_fixes.processed(event.message)  # nothing to save for it: the commit may pass it

    async def observe(value: bytes, message: Any) -> bool:
        """Count one scored mention; True when it waits for its brand's state to be saved."""
        try:
            m = spike_input(value)
        except SchemaError as exc:  # the indexer dead-letters it; here it only does not count
            log.debug("spike agent skips an invalid scored mention: %s", exc)
            return False
        if not m.brand:
            return False
        det = detector_for(m.brand)
        if already_counted(applied[m.brand], message.partition, message.offset):
            return False  # read again after a restart, and the restored state has it
        if recent[m.brand].seen(m.id):
            return False  # scored twice (the raw tail re-read after a restart): counted once already
        at = min(m.created_at, clock())  # a post from the future must not close buckets
        det.observe((m.brand, None), at, m.negative, m.id, m.text)
        for category in m.categories:
            det.observe((m.brand, category), at, m.negative, m.id, m.text)
        applied[m.brand][message.partition] = message.offset
        now = time.monotonic()
        pending[m.brand].add(message.tp, message.offset, now)
        last_seen[m.brand] = now
        low = watermarks.setdefault(m.brand, LowWatermark()).add(now, at)
        await send_alerts(m.brand, low)  # cheap unless a bucket closes or a negative came in
        partition_of[m.brand] = message.partition
        # Save every brand of this partition whose unsaved mentions have waited long enough: faust writes a
        # table key only while an event of its own partition is being handled (a quiet brand waits for
        # the next mention of its partition; until then a restart simply counts its tail again).
        for brand, waiting in pending.items():
            if partition_of.get(brand) == message.partition and waiting.due(now, PERSIST_SECONDS):
                save(brand)
        return True

    @app.timer(interval=TICK_SECONDS)
    async def tick_idle() -> None:
        now = time.monotonic()
        for brand in list(detectors):
            if now - last_seen.get(brand, 0.0) > IDLE_SECONDS:
                await send_alerts(brand, clock())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center worker", description=__doc__)
    parser.add_argument("--loglevel", default=None, choices=["crit", "error", "warn", "info", "debug"],
                        help="faust's level (default: LC_LOG_LEVEL, at most warn)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logs.configure(settings, "worker")
    metrics.serve(settings, "worker")
    app = build_app(settings)
    app.conf.logging_config = logs.dict_config(settings, "worker")  # faust's CLI re-applies logging
    # faust's own CLI runs the worker (signal handling, graceful rebalance); we pass it the built app.
    # At warn or above faust shows a spinner and raises the log handler to that level, which would
    # hide our own INFO/DEBUG lines: below warn it leaves the handler alone (its loggers stay quiet).
    loglevel = args.loglevel or {"DEBUG": "debug", "INFO": "info"}.get(settings.log_level.upper(), "warn")
    sys.argv = ["listening-center-worker", "worker", "--loglevel", loglevel, "--without-web"]
    os.environ.setdefault("F_DATADIR", str(settings.runtime_dir / "faust"))
    app.main()
    return 0

