"""Stages that run through the real engines: Kafka (reference loop and the stream worker, one and two of
them), Elasticsearch (plain bulk and the indexer), end to end (raw mention to searchable) and the console's
live feed (raw mention to its SSE stream).

Each phase has its own sandbox (topics and indices) and starts the product's own processes, so what is
measured is what runs in production; the references use the same engines with nothing of ours in between.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infra.bench import kafka_io, workload
from infra.bench.components import Components
from infra.bench.memory import PeakSampler
from infra.bench.progress import bar
from infra.bench.sandbox import sandbox
from infra.bench.stats import Comparison, Summary
from infra.bench.table import fmt_rate
from infra.settings import Settings
from stream.schema import Mention, parse_time

log = logging.getLogger("lc.bench")


@dataclass(frozen=True)
class Plan:
    count: int  # mentions for the saturated (as fast as possible) measurements
    rate: float  # mentions/s for the fixed-rate measurements
    seconds: float  # how long a fixed-rate measurement lasts
    progress: bool | None = None  # None: on a tty
    startup_timeout: float = 180.0

    @property
    def fixed_count(self) -> int:
        return max(1, int(self.rate * self.seconds))

    @property
    def drain_timeout(self) -> float:
        """How long the last of a fixed-rate pass may take to come out: a stage slower than the offered rate
        (a busy machine) drains its backlog afterwards, and that is a figure, not a failure, down to 50/s."""
        return 60 + self.seconds + self.fixed_count / 50


class StageError(RuntimeError):
    """A stage could not be measured (a process died, something never arrived); says what and shows the log."""


def messages(mentions: Sequence[Mention]) -> list[kafka_io.Message]:
    return [(m.id, m.to_json()) for m in mentions]


def live_mentions(count: int, run: str) -> list[Mention]:
    """Mentions created now: they fall in the current month's index, as live traffic does."""
    return [workload.stamp_now(m) for m in workload.mentions(count, run=run)]


def _wait_all(arrivals: kafka_io.Arrivals, ids: Sequence[str], timeout: float, desc: str,
              plan: Plan, check: Callable[[], None] = lambda: None) -> None:
    with bar(len(ids), desc, enabled=plan.progress) as b:
        deadline = time.monotonic() + timeout
        missing = len(ids)
        while missing and time.monotonic() < deadline:
            check()
            missing = arrivals.wait_for(ids, 1.0, b.update)
    if missing:
        raise StageError(f"{desc}: {missing} of {len(ids)} mentions never arrived within {timeout:.0f}s")


def fixed_and_burst(bootstrap: str, topic: str, arrivals: kafka_io.Arrivals, plan: Plan, label: str,
                    run: str, check: Callable[[], None] = lambda: None,
                    prod: Any = None) -> tuple[Summary, Summary, dict[str, float], list[str]]:
    """One fixed-rate pass (latencies) and one burst (throughput) through whatever reads `topic`."""
    own = prod is None
    prod = prod or kafka_io.producer(bootstrap)
    sent: dict[str, float] = {}
    try:
        fixed = messages(live_mentions(plan.fixed_count, f"{run}-fixed"))
        with bar(len(fixed), f"{label} at {plan.rate:,.0f}/s", enabled=plan.progress) as b:
            kafka_io.send_paced(prod, topic, fixed, plan.rate, sent, b.update)
        ids = [mid for mid, _ in fixed]
        _wait_all(arrivals, ids, plan.drain_timeout, f"{label}: last of the fixed-rate pass", plan, check)
        lat = kafka_io.latencies(sent, arrivals.seen, ids)
        fixed_summary = Summary.of(f"{label} at {plan.rate:,.0f}/s", len(ids), kafka_io.span(sent, arrivals.seen, ids),
                                   lat, note="produce to arrival")
        burst = messages(live_mentions(plan.count, f"{run}-burst"))
        kafka_io.send_paced(prod, topic, burst, None, sent)
        bids = [mid for mid, _ in burst]
        _wait_all(arrivals, bids, 120 + plan.count / 100, f"{label}: burst", plan, check)
        burst_summary = Summary.of(f"{label}, saturated", len(bids), kafka_io.span(sent, arrivals.seen, bids),
                                   note="first send to last arrival")
        return fixed_summary, burst_summary, sent, ids
    finally:
        if own:
            prod.close()


def kafka_reference(settings: Settings, plan: Plan) -> tuple[Summary, Summary]:
    """A plain kafka-python produce/consume loop on a topic shaped like mentions.raw: the broker's floor."""
    topic = settings.topic("bench.reference")
    kafka_io.create_topic(settings.kafka_bootstrap, topic, 4)
    arrivals = kafka_io.Arrivals(settings.kafka_bootstrap, topic, kafka_io.key_id).start()
    try:
        fixed, burst, _, _ = fixed_and_burst(settings.kafka_bootstrap, topic, arrivals, plan,
                                             "kafka-python produce -> consume", "ref")
        return fixed, burst
    finally:
        arrivals.stop()


class Searchable:
    """Polls Elasticsearch for the ids sent so far and notes when each first shows up in a search.

    The time is taken when the answer comes back, so a figure is an upper bound by at most one poll interval.
    """

    def __init__(self, settings: Settings, sent: dict[str, float], ids: Sequence[str], interval: float = 0.1) -> None:
        from stream import documents, es_admin

        self.es = es_admin.client(settings.es_url)
        self.alias = documents.read_alias(settings.index_prefix)
        self.sent, self.ids, self.interval = sent, list(ids), interval
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="searchable", daemon=True)

    def _run(self) -> None:
        from elasticsearch import NotFoundError

        while not self._stop.wait(self.interval):
            pending = [i for i in self.ids if i in self.sent and i not in self.seen][:2000]
            if not pending:
                continue
            try:
                resp = self.es.search(index=self.alias, query={"ids": {"values": pending}}, size=len(pending),
                                      source=False)
            except NotFoundError:  # the indexer has not created the month's index yet
                continue
            now = time.perf_counter()
            for hit in resp["hits"]["hits"]:
                self.seen.setdefault(hit["_id"], now)

    def start(self) -> Searchable:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def alive_check(comps: Components, *names: str) -> Callable[[], None]:
    def check() -> None:
        for name in names:
            if not comps.alive(name):
                raise StageError(f"`listening-center {name}` exited; its log ends:\n{comps.log_tail(name)}")
    return check


def _unbranded(mentions: list[Mention], branded: bool) -> list[Mention]:
    """Probes without a brand are scored but never counted by spike detection (the incident stage's
    detector must see only the replay)."""
    if not branded:
        for m in mentions:
            m.brand = ""
    return mentions


def wait_ready(comps: Components, settings: Settings, arrivals: kafka_io.Arrivals, prod: Any,
                plan: Plan, workers: Sequence[str] = ("worker",), branded: bool = True, tag: str = "") -> float:
    """Probe mentions until one comes out scored: the worker has joined its group and warmed up."""
    start = time.monotonic()
    check = alive_check(comps, *workers)
    sent: dict[str, float] = {}
    n = 0
    with bar(None, "waiting for the worker", unit="probe", enabled=plan.progress) as b:
        while time.monotonic() - start < plan.startup_timeout:
            check()
            probe = _unbranded(live_mentions(1, f"probe{tag}{n}"), branded)[0]
            kafka_io.send_paced(prod, settings.topic("mentions.raw"), messages([probe]), None, sent)
            n += 1
            b.update(1)
            if arrivals.wait_for([probe.id], 2.0) == 0:
                # a few more so the scorer's lazy loads and the broker's fetch sessions are warm
                warm = messages(_unbranded(live_mentions(200, f"warm{tag}"), branded))
                kafka_io.send_paced(prod, settings.topic("mentions.raw"), warm, 200, sent)
                arrivals.wait_for([mid for mid, _ in warm], 60)
                return time.monotonic() - start
    raise StageError(f"the worker scored nothing within {plan.startup_timeout:.0f}s; its log ends:\n"
                     f"{comps.log_tail('worker')}")


def _wait_caught_up(offsets: kafka_io.GroupOffsets, bootstrap: str, timeout: float, check: Callable[[], None]) -> None:
    deadline = time.monotonic() + timeout
    end = kafka_io.end_total(bootstrap, offsets.topic)
    while offsets.committed() < end:
        check()
        if time.monotonic() > deadline:
            raise StageError(f"the indexer did not catch up with {offsets.topic} within {timeout:.0f}s")
        time.sleep(0.2)


class Console:
    """The console process (`python -m infra.bench.console`) and one SSE connection to its live feed."""

    def __init__(self, comps: Components, settings: Settings, plan: Plan) -> None:
        from infra.bench.feed import FeedReader, wait_feed_ready, wait_port

        port_file = settings.runtime_dir / "console.port"
        comps.start_module("console", "infra.bench.console", str(port_file))
        check = alive_check(comps, "console")
        port = wait_port(port_file, plan.startup_timeout, check)
        base_url = f"http://127.0.0.1:{port}"
        wait_feed_ready(base_url, plan.startup_timeout)
        self.reader = FeedReader(f"{base_url}/feed/stream").start()

    def wait(self, ids: Sequence[str], timeout: float, plan: Plan, check: Callable[[], None]) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        with bar(len(ids), "live feed (SSE)", enabled=plan.progress) as b:
            done = 0
            while done < len(ids) and time.monotonic() < deadline and self.reader.error is None:
                check()
                time.sleep(0.2)
                now_done = sum(1 for i in ids if i in self.reader.seen)
                b.update(now_done - done)
                done = now_done
        missing = [i for i in ids if i not in self.reader.seen]
        if missing:
            raise StageError(f"live feed: {len(missing)} of {len(ids)} mentions never reached the SSE stream"
                             + (f" ({self.reader.error})" if self.reader.error else ""))
        return self.reader.seen


def _burst(comps: Components, settings: Settings, prod: Any, arrivals: kafka_io.Arrivals, plan: Plan,
           run: str, workers: Sequence[str], label: str) -> Summary:
    """`plan.count` raw mentions as fast as the producer takes them; first send to last scored."""
    burst = messages(live_mentions(plan.count, run))
    sent: dict[str, float] = {}
    with bar(len(burst), f"{label}: sending", enabled=plan.progress) as b:
        kafka_io.send_paced(prod, settings.topic("mentions.raw"), burst, None, sent, b.update)
    ids = [mid for mid, _ in burst]
    _wait_all(arrivals, ids, 120 + plan.count / 50, label, plan, alive_check(comps, *workers))
    return Summary.of(f"{label}, saturated", len(ids), kafka_io.span(sent, arrivals.seen, ids),
                      note="first send to last scored")


def _wait_members(settings: Settings, count: int, timeout: float, check: Callable[[], None]) -> None:
    """Until the workers' consumer group is stable with `count` members (the partitions are shared)."""
    group = f"{settings.topic_prefix}listening-center"  # faust's group id is the app id (stream/worker.py)
    deadline = time.monotonic() + timeout
    state, members = "", 0
    while time.monotonic() < deadline:
        check()
        state, members = kafka_io.group_state(settings.kafka_bootstrap, group)
        if state == "Stable" and members == count:
            return
        time.sleep(0.5)
    raise StageError(f"the worker group {group} is {state or 'unknown'} with {members} members, not {count}")


def stream_and_e2e(base: Settings, plan: Plan, sampler: PeakSampler, *, stream: bool, e2e: bool,
                   feed: bool = False, scaleout: bool = False, vader: Summary | None = None) -> list[Comparison]:
    """The Kafka reference, then the real worker on the same broker: a fixed-rate pass (through the indexer
    to search for end to end, through the console to its SSE feed), then bursts with one and two workers."""
    results: list[Comparison] = []
    with sandbox(base) as settings:
        ref_fixed, ref_burst = kafka_reference(settings, plan)
        comps = Components(settings, settings.runtime_dir / "logs")
        prod = kafka_io.producer(settings.kafka_bootstrap)
        arrivals = kafka_io.Arrivals(settings.kafka_bootstrap, settings.topic("mentions.scored"),
                                     kafka_io.scored_id).start()
        try:
            comps.start("worker", "worker")
            sampler.watch("worker", lambda: comps.pids("worker"))
            startup = wait_ready(comps, settings, arrivals, prod, plan)
            log.info("worker ready after %.1fs", startup)
            running = ["worker"]
            searchable: Searchable | None = None
            console: Console | None = None
            if e2e:
                comps.start("indexer", "indexer")
                sampler.watch("indexer", lambda: comps.pids("indexer"))
                running.append("indexer")
                offsets = kafka_io.GroupOffsets(settings.kafka_bootstrap, settings.topic("lc-indexer"),
                                                settings.topic("mentions.scored"))
                try:
                    _wait_caught_up(offsets, settings.kafka_bootstrap, plan.startup_timeout,
                                    alive_check(comps, *running))
                finally:
                    offsets.close()
            if feed:
                console = Console(comps, settings, plan)
                sampler.watch("console (web)", lambda: comps.pids("console"))
                running.append("console")
            check = alive_check(comps, *running)
            sent: dict[str, float] = {}
            fixed = messages(live_mentions(plan.fixed_count, "fixed"))
            ids = [mid for mid, _ in fixed]
            if e2e:
                searchable = Searchable(settings, sent, ids).start()
            label = "worker raw -> scored"
            with bar(len(fixed), f"pipeline at {plan.rate:,.0f}/s", enabled=plan.progress) as b:
                kafka_io.send_paced(prod, settings.topic("mentions.raw"), fixed, plan.rate, sent, b.update)
            _wait_all(arrivals, ids, plan.drain_timeout, "worker: last of the fixed-rate pass", plan, check)
            stage_fixed = Summary.of(f"{label} at {plan.rate:,.0f}/s", len(ids),
                                     kafka_io.span(sent, arrivals.seen, ids),
                                     kafka_io.latencies(sent, arrivals.seen, ids), note="produce to scored")
            if searchable is not None:
                deadline = time.monotonic() + plan.drain_timeout
                with bar(len(ids), "searchable", enabled=plan.progress) as b:
                    done = 0
                    while len(searchable.seen) < len(ids) and time.monotonic() < deadline:
                        check()
                        b.update(len(searchable.seen) - done)
                        done = len(searchable.seen)
                        time.sleep(0.2)
                searchable.stop()
                found = [i for i in ids if i in searchable.seen]
                if len(found) < len(ids):
                    raise StageError(f"end to end: {len(ids) - len(found)} of {len(ids)} mentions never searchable")
                e2e_summary = Summary.of(f"raw -> searchable at {plan.rate:,.0f}/s", len(ids),
                                         kafka_io.span(sent, searchable.seen, ids),
                                         kafka_io.latencies(sent, searchable.seen, ids),
                                         note="worker + indexer + refresh")
                results.append(Comparison("end to end", e2e_summary, ref_fixed))
            if console is not None:
                shown = console.wait(ids, plan.drain_timeout, plan, check)
                results.append(Comparison("live feed", Summary.of(
                    f"raw -> console SSE at {plan.rate:,.0f}/s", len(ids), kafka_io.span(sent, shown, ids),
                    kafka_io.latencies(sent, shown, ids), note="worker + console feed"), ref_fixed))
            # The bursts measure the worker(s), not CPU shared with the indexer or the console.
            for name in ("indexer", "console"):
                comps.stop(name)
            if console is not None:
                console.reader.stop()
            if stream or scaleout:
                one = _burst(comps, settings, prod, arrivals, plan, "burst", ["worker"], label)
                if stream:
                    results.insert(0, Comparison("stream", stage_fixed, ref_fixed))
                    results.insert(1, Comparison("stream", one, ref_burst))
                    if vader is not None:
                        results.insert(2, Comparison("stream", Summary(one.name, one.count, one.rate,
                                                                       note="vs raw VADER in-process"), vader))
                if scaleout:
                    comps.start("worker2", "worker")
                    sampler.watch("worker 2", lambda: comps.pids("worker2"))
                    _wait_members(settings, 2, plan.startup_timeout, alive_check(comps, "worker", "worker2"))
                    wait_ready(comps, settings, arrivals, prod, plan, workers=("worker", "worker2"), tag="two")
                    _wait_members(settings, 2, plan.startup_timeout, alive_check(comps, "worker", "worker2"))
                    two = _burst(comps, settings, prod, arrivals, plan, "burst2", ["worker", "worker2"],
                                 "2 workers raw -> scored")
                    # One worker again after the two: the machine's load drifts, so the faster of the
                    # single-worker bursts either side is the reference (what a second worker must beat).
                    comps.stop("worker2")
                    _wait_members(settings, 1, plan.startup_timeout, alive_check(comps, "worker"))
                    wait_ready(comps, settings, arrivals, prod, plan, tag="one")
                    again = _burst(comps, settings, prod, arrivals, plan, "burst3", ["worker"], label)
                    best = max(one, again, key=lambda x: x.rate or 0.0)
                    results.append(Comparison("scale-out", two, Summary(
                        "1 worker, saturated", best.count, best.rate,
                        note=f"best of before/after: {fmt_rate(one.rate)} and {fmt_rate(again.rate)}/s")))
        finally:
            comps.stop_all()
            arrivals.stop()
            prod.close()
    return results


def _scored_values(mentions: Sequence[Mention]) -> list[tuple[bytes, bytes, Any]]:
    """(key, ScoredMention JSON, ScoredMention) as the worker would produce them, through its own step."""
    from stream.identity import IdentityTable
    from stream.pipeline import RepeatCounter, Step
    from stream.schema import ScoredMention
    from stream.scoring import Scorer

    step = Step(scorer=Scorer(), identities=IdentityTable(), clock=lambda: datetime.now(UTC), repeats=RepeatCounter())
    out = []
    for i, m in enumerate(mentions):
        scored = step(m.to_json(), "bench", 0, i)
        assert isinstance(scored, ScoredMention)
        out.append(((m.brand or "-").encode(), scored.to_json(), scored))
    return out


def elasticsearch(base: Settings, plan: Plan, sampler: PeakSampler) -> Comparison:
    """`helpers.bulk` of ready documents (reference) vs the indexer draining mentions.scored."""
    from elasticsearch import helpers

    from stream import documents, es_admin

    with sandbox(base, "es") as settings:
        scored = _scored_values(live_mentions(plan.count, "es"))
        prod = kafka_io.producer(settings.kafka_bootstrap)
        try:
            for key, value, _ in scored:
                prod.send(settings.topic("mentions.scored"), value, key=key)
            prod.flush()
        finally:
            prod.close()
        es = es_admin.client(settings.es_url)
        es_admin.ensure_template(es, settings.index_prefix)
        ref_index = documents.monthly_index(settings.index_prefix, "reference")  # same template, same mapping
        now = datetime.now(UTC)
        docs = [{"_index": ref_index, "_id": s.mention.id, "_source": documents.to_document(s, now)}
                for _, _, s in scored]
        with bar(None, "helpers.bulk", enabled=plan.progress):
            start = time.perf_counter()
            ok, errors = helpers.bulk(es, docs, chunk_size=settings.indexer_batch_size, refresh=False,
                                      stats_only=True)
            ref_seconds = time.perf_counter() - start
        if errors:
            raise StageError(f"the reference bulk load had {errors} errors")
        reference = Summary.of("helpers.bulk, documents ready", ok, ref_seconds,
                               note=f"chunks of {settings.indexer_batch_size}")

        comps = Components(settings, settings.runtime_dir / "logs")
        offsets = kafka_io.GroupOffsets(settings.kafka_bootstrap, settings.topic("lc-indexer"),
                                        settings.topic("mentions.scored"))
        try:
            comps.start("indexer", "indexer")
            sampler.watch("indexer", lambda: comps.pids("indexer"))
            check = alive_check(comps, "indexer")
            deadline = time.monotonic() + plan.startup_timeout + plan.count / 100
            with bar(len(scored), "indexer draining", enabled=plan.progress) as b:
                done = 0
                while done < len(scored):
                    check()
                    if time.monotonic() > deadline:
                        raise StageError(f"the indexer committed {done} of {len(scored)} in time")
                    time.sleep(0.05)
                    now_done = offsets.committed()
                    b.update(now_done - done)
                    done = now_done
            finished = datetime.now(UTC)
        finally:
            comps.stop_all()
            offsets.close()
        alias = documents.read_alias(settings.index_prefix)
        es.indices.refresh(index=alias)
        count = int(es.count(index=alias)["count"])
        if count != len(scored):
            raise StageError(f"the indexer committed {len(scored)} mentions but {count} are searchable")
        first = es.search(index=alias, size=1, sort=[{"indexed_at": "asc"}],
                          source_includes=["indexed_at"])
        started = parse_time(first["hits"]["hits"][0]["_source"]["indexed_at"])
        product = Summary.of("indexer process, from Kafka", count, (finished - started).total_seconds(),
                             note="first batch to last commit")
        return Comparison("elasticsearch", product, reference)
