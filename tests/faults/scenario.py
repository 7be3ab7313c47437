"""The fault scenario: a replay through real worker, indexer and alerter processes on an engine pair of its
own, while the engines and the components are killed and restarted; counted by mention id afterwards.

Used by tests/faults/test_faults.py (pytest) and by `python -m tests.faults` (`make faults`, the full run).
The harness plays the part of a supervisor (systemd's Restart=always): a component that exits on its own
is started again, and the report says how often that happened.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.settings import Settings
from tests.conftest import settings_env
from tests.integration.alert_servers import Receiver, http_receiver

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "listening-center")
FAULT_KAFKA = "127.0.0.1:19092"
FAULT_ES = "http://127.0.0.1:19200"
# One webhook, told once per incident, no escalation, no cooldown: counts are exact.
ROUTES = """
timezone: UTC
cooldown_minutes: 0
policies:
  once:
    - {after_minutes: 0, targets: [webhook]}
routes:
  - {name: default, policy: once}
"""


@dataclass(frozen=True)
class FaultConfig:
    mentions: int = 20_000
    es_pause: float = 60.0  # seconds Elasticsearch stays down
    replay_seconds: float = 0.0  # how long the paced replay lasts; 0 = long enough to span every fault
    catch_up_timeout: float = 240.0
    seed: int = 7
    gap: float = 20.0  # seconds of normal flow between faults
    settle: float = 10.0  # a catch-up counts the mentions sent up to this long after the restart
    static: bool = True  # the worker joins with a group.instance.id (LC_WORKER_INSTANCE_ID)

    @classmethod
    def from_env(cls, **defaults: Any) -> FaultConfig:
        env: dict[str, tuple[str, Callable[[str], Any]]] = {
               "mentions": ("LC_FAULTS_MENTIONS", int), "es_pause": ("LC_FAULTS_ES_PAUSE", float),
               "replay_seconds": ("LC_FAULTS_REPLAY_SECONDS", float),
               "catch_up_timeout": ("LC_FAULTS_CATCH_UP_TIMEOUT", float), "seed": ("LC_FAULTS_SEED", int),
               "gap": ("LC_FAULTS_GAP", float), "settle": ("LC_FAULTS_SETTLE", float),
               "static": ("LC_FAULTS_STATIC", lambda v: v.strip().lower() in {"1", "true", "yes"})}
        values = dict(defaults)
        for name, (var, kind) in env.items():
            if os.environ.get(var):
                values[name] = kind(os.environ[var])
        return cls(**values)

    @property
    def replay_length(self) -> float:
        # The faults, their gaps and restarts take about this long; the replay spans them.
        return self.replay_seconds or self.es_pause + 5 * self.gap + 150.0


@dataclass
class FaultResult:
    fault: str
    sent: int  # distinct mention ids in mentions.raw when the fault was over
    indexed: int  # of those, in the index once the pipeline caught up
    catch_up_seconds: float | None  # from the restart to all of them searchable; None = never


@dataclass
class Report:
    config: FaultConfig
    faults: list[FaultResult] = field(default_factory=list)
    replayed: int = 0
    raw_records: int = 0
    indexed_docs: int = 0
    distinct_indexed: int = 0
    duplicates: int = 0
    lost: int = 0
    unscored: int = 0
    unexpected: int = 0
    alerts_open: int = 0
    alert_keys: list[str] = field(default_factory=list)
    alerts_delivered: int = 0
    alerts_missing: int = 0
    alerts_duplicated: int = 0
    restarts: dict[str, int] = field(default_factory=dict)
    exits: list[str] = field(default_factory=list)
    dead_letters: int = 0
    total_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (self.duplicates == self.lost == self.unscored == self.unexpected == 0
                and self.alerts_missing == self.alerts_duplicated == 0
                and all(f.catch_up_seconds is not None for f in self.faults))

    def text(self) -> str:
        c = self.config
        lines = [
            f"fault scenario: {c.mentions} mentions replayed over ~{c.replay_length:.0f} s, "
            f"Elasticsearch paused {c.es_pause:.0f} s, seed {c.seed}",
            "",
            f"{'fault':<34} {'sent':>7} {'indexed':>8} {'catch-up s':>11}",
        ]
        for f in self.faults:
            took = f"{f.catch_up_seconds:.1f}" if f.catch_up_seconds is not None else "never"
            lines.append(f"{f.fault:<34} {f.sent:>7} {f.indexed:>8} {took:>11}")
        lines += [
            "",
            f"sent (replay file)        {self.replayed}",
            f"records in mentions.raw   {self.raw_records}  (re-sends after restarts included)",
            f"indexed documents         {self.indexed_docs}  ({self.distinct_indexed} distinct ids)",
            f"duplicates                {self.duplicates}",
            f"lost                      {self.lost}",
            f"not scored                {self.unscored}",
            f"not in the replay         {self.unexpected}",
            f"dead letters              {self.dead_letters}",
            f"alerts opened             {self.alerts_open} (distinct keys on alerts.spikes)",
            *(f"  {key}" for key in self.alert_keys),
            f"alerts delivered          {self.alerts_delivered} (webhook triggers), missing {self.alerts_missing}, "
            f"twice {self.alerts_duplicated}",
            f"supervisor restarts       {json.dumps(self.restarts, sort_keys=True)}",
            *(f"  {why}" for why in self.exits),
            f"whole run                 {self.total_seconds:.0f} s",
            f"verdict                   {'PASS' if self.ok else 'FAIL'}",
        ]
        return "\n".join(lines)


def say(msg: str) -> None:
    print(f"[faults {datetime.now(UTC).strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- engines


class EnginePair:
    """A Kafka and an Elasticsearch of the fault tests' own, started and stopped with the project's code."""

    def __init__(self, runtime: Path) -> None:
        self.settings = dataclasses.replace(
            Settings.from_env({}), kafka_bootstrap=FAULT_KAFKA, es_url=FAULT_ES, runtime_dir=runtime,
            database_url=f"sqlite:///{runtime / 'faults.db'}", secret_key="faults-secret",
        )
        self.runtime = runtime

    def _engines(self, action: str) -> None:
        result = subprocess.run([CLI, "engines", action], env=settings_env(self.settings), capture_output=True,
                                text=True, check=False, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"engines {action} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> None:
        self._engines("start")

    def stop(self) -> None:
        self._engines("stop")

    def pid(self, name: str) -> int:
        return int((self.runtime / "pids" / f"{name}.pid").read_text())

    def kill_kafka(self) -> None:
        os.killpg(self.pid("kafka"), signal.SIGKILL)
        self._wait_gone("kafka")

    def stop_es(self) -> None:
        from infra.engines.local import Paths, stop

        stop(Paths.of(self.settings), "elasticsearch")

    def _wait_gone(self, name: str) -> None:
        pid = self.pid(name)
        for _ in range(100):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


@contextlib.contextmanager
def engine_pair() -> Iterator[EnginePair]:
    # Elasticsearch runs as its own system user: the runtime folder must be reachable by it, so it lives
    # directly under /tmp (pytest's tmp_path is inside a 0700 folder), world-traversable.
    from infra.engines.local import es_health, kafka_ready

    # `engines start` would reuse engines that already answer there, and then could neither kill nor stop them.
    if kafka_ready(FAULT_KAFKA) or es_health(FAULT_ES) is not None:
        raise RuntimeError(f"something already answers at {FAULT_KAFKA} or {FAULT_ES}: another fault run (or a "
                           "leftover pair: LC_RUNTIME_DIR=/tmp/lc-faults-... listening-center engines stop)")
    runtime = Path(tempfile.mkdtemp(prefix="lc-faults-", dir="/tmp"))
    runtime.chmod(0o755)
    pair = EnginePair(runtime)
    try:
        pair.start()
        yield pair
    finally:
        try:
            pair.stop()
        finally:
            if not os.environ.get("LC_FAULTS_KEEP"):
                import shutil

                shutil.rmtree(runtime, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- components


class Supervisor:
    """Runs components as real `listening-center` processes; restarts one that exits unless told it may."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        self.args: dict[str, list[str]] = {}
        self.envs: dict[str, dict[str, str]] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.done: set[str] = set()  # finished with exit code 0 and not to be restarted (the replay)
        self.restarts: collections.Counter[str] = collections.Counter()
        self.exits: list[str] = []  # why each restarted component exited: its code and last error line
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True, name="supervisor")
        logdir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        with self.lock:
            self.args[name] = list(args)
            self.envs[name] = {**self.env, **(env or {})}
            self._spawn(name)
        if not self.thread.is_alive():
            self.thread.start()

    def _spawn(self, name: str) -> None:
        out = (self.logdir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen([CLI, *self.args[name]], stdout=out, stderr=subprocess.STDOUT,
                                            env=self.envs[name], start_new_session=True)
        out.close()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        with self.lock:
            proc = self.procs[name]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def restart(self, name: str, sig: int = signal.SIGKILL) -> None:
        self.kill(name, sig)
        with self.lock:
            self._spawn(name)

    def finished(self, name: str) -> bool:
        return name in self.done

    def _watch(self) -> None:
        while not self.stop_event.wait(1.0):
            with self.lock:
                for name, proc in list(self.procs.items()):
                    code = proc.poll()
                    if code is None or name in self.done:
                        continue
                    if code == 0 and name.startswith("listener"):
                        self.done.add(name)
                        continue
                    say(f"{name} exited with {code}; restarting it")
                    self.restarts[name] += 1
                    errors = [line for line in self.tail(name, 20000).splitlines() if " ERROR " in line]
                    self.exits.append(f"{name} exit {code}: {errors[-1][:400] if errors else 'no error logged'}")
                    self._spawn(name)

    def stop_all(self) -> None:
        self.stop_event.set()
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


# ---------------------------------------------------------------------------------------------- data


def write_replay(path: Path, count: int, seed: int, end: datetime) -> tuple[list[str], timedelta]:
    """`count` demo-incident mentions (brand set by the generator) ending at `end`, as replay JSON lines."""
    from listeners.sources import demo

    span = timedelta(minutes=80)
    per_minute = count / 70  # the surge adds some: 70 minutes' background fills `count` within the span
    start = end - span
    ids: list[str] = []
    first: datetime | None = None
    with path.open("w", encoding="utf-8") as out:
        for when, post in demo.generate("incident", seed, start, duration=span * 2, per_minute=per_minute):
            mention = demo.to_mention(post, with_truth=True)
            if not mention.brand:
                continue
            out.write(json.dumps(mention.to_dict(), ensure_ascii=False) + "\n")
            ids.append(mention.id)
            first = first or when
            if len(ids) == count:
                break
    return ids, end - (first or start)


def raw_ids(settings: Settings) -> tuple[set[str], int]:
    """Distinct keys (mention ids) in mentions.raw up to its current end, and the number of records."""
    from kafka import KafkaConsumer, TopicPartition

    topic = settings.topic("mentions.raw")
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             receive_message_max_bytes=64 * 1024 * 1024, fetch_max_bytes=32 * 1024 * 1024)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        ends = consumer.end_offsets(parts)
        consumer.seek_to_beginning(*parts)
        ids: set[str] = set()
        records = 0
        deadline = time.monotonic() + 120
        while any(consumer.position(tp) < ends[tp] for tp in parts) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                for r in batch:
                    if r.offset < ends[TopicPartition(r.topic, r.partition)] and r.key is not None:
                        ids.add(r.key.decode())
                        records += 1
        return ids, records
    finally:
        consumer.close()


def topic_values(settings: Settings, name: str) -> list[bytes]:
    from kafka import KafkaConsumer, TopicPartition

    topic = settings.topic(name)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             receive_message_max_bytes=64 * 1024 * 1024)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        ends = consumer.end_offsets(parts)
        consumer.seek_to_beginning(*parts)
        values: list[bytes] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in parts) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                values += [r.value for r in batch if r.value is not None]
        return values
    finally:
        consumer.close()


def locate(settings: Settings, name: str, ids: set[str]) -> dict[str, list[tuple[int, int]]]:
    """(partition, offset) of each record of `ids` on a topic: the records of mentions.raw are keyed by id,
    mentions.scored carries the id in its value."""

    from kafka import KafkaConsumer, TopicPartition

    topic = settings.topic(name)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             receive_message_max_bytes=64 * 1024 * 1024)
    found: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        ends = consumer.end_offsets(parts)
        consumer.seek_to_beginning(*parts)
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in parts) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                for r in batch:
                    key = r.key.decode(errors="replace") if r.key else ""
                    if key not in ids and r.value:
                        try:
                            key = str(json.loads(r.value).get("mention", {}).get("id", ""))
                        except (ValueError, AttributeError):
                            continue
                    if key in ids:
                        found[key].append((r.partition, r.offset))
        return dict(found)
    finally:
        consumer.close()


def group_offsets(settings: Settings, group: str) -> dict[str, int]:
    """Committed offsets of a consumer group, as `topic[partition]` -> offset."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10_000)
    try:
        return {f"{tp.topic}[{tp.partition}]": meta.offset
                for tp, meta in sorted(admin.list_consumer_group_offsets(group).items())}
    finally:
        admin.close()


class Index:
    """Counts in Elasticsearch by mention id (the document `_id`), over every monthly index of the alias."""

    def __init__(self, settings: Settings) -> None:
        from stream import documents, es_admin

        self.es = es_admin.client(settings.es_url, request_timeout=30)
        self.alias = documents.read_alias(settings.index_prefix)

    def count_of(self, ids: set[str]) -> int:
        try:
            self.es.indices.refresh(index=self.alias)
            resp = self.es.count(index=self.alias, query={"ids": {"values": sorted(ids)}})
        except Exception:  # not there yet, or Elasticsearch is down: nothing counts
            return 0
        return int(resp["count"])

    def present(self, ids: set[str]) -> set[str]:
        self.es.indices.refresh(index=self.alias)
        resp = self.es.search(index=self.alias, query={"ids": {"values": sorted(ids)}}, size=len(ids), source=False)
        return {h["_id"] for h in resp["hits"]["hits"]}

    def all_docs(self) -> list[tuple[str, dict[str, Any]]]:
        from elasticsearch import helpers

        self.es.indices.refresh(index=self.alias)
        return [(h["_id"], h["_source"]) for h in helpers.scan(
            self.es, index=self.alias, query={"query": {"match_all": {}}}, size=2000,
            _source=["id", "sentiment", "scored_at"])]


# ---------------------------------------------------------------------------------------------- the run


class Scenario:
    def __init__(self, pair: EnginePair, config: FaultConfig, workdir: Path) -> None:
        self.pair, self.config, self.workdir = pair, config, workdir
        self.receiver = Receiver(secret="faults-hook")
        self.report = Report(config)

    def run(self, report_path: Path | None = None) -> Report:
        from infra.topics import ensure_topics

        started = time.monotonic()
        with http_receiver(self.receiver) as url:
            routes = self.workdir / "routes.yaml"
            routes.write_text(ROUTES)
            settings = dataclasses.replace(
                self.pair.settings, alert_routes=str(routes), alert_webhook_url=url,
                alert_webhook_secret="faults-hook", alert_retry_base_seconds=1.0, alert_retry_max_seconds=5.0,
                worker_stall_seconds=45.0,  # a worker that stops fetching after the broker's kill exits sooner
            )
            self.settings = settings
            ensure_topics(settings)
            from infra.db import migrate

            migrate(settings.db_url)  # once, before the components start (as `up` does): they would race
            replay = self.workdir / "replay.jsonl"
            ids, span = write_replay(replay, self.config.mentions, self.config.seed, datetime.now(UTC))
            self.report.replayed = len(ids)
            speed = span.total_seconds() / self.config.replay_length
            sup = Supervisor(settings_env(settings), self.workdir / "logs")
            self.sup, self.index = sup, Index(settings)
            try:
                # A stable group.instance.id (static membership): a restarted worker takes its partitions
                # back at once instead of waiting out the killed member's 60 s session.
                sup.start("worker", "worker", "--loglevel", "info",
                          env={"LC_WORKER_INSTANCE_ID": "faults-worker-1"} if self.config.static else None)
                sup.start("indexer", "indexer")
                sup.start("alerter", "alerter")
                listen = ["listen", "replay", "--file", str(replay), "--speed", f"{speed:.3f}", "--no-rules",
                          "--name", "faults-replay"]
                sup.start("listener", *listen)
                say(f"replaying {len(ids)} mentions at {speed:.1f}x (~{self.config.replay_length:.0f} s)")
                self._faults()
                self._wait(lambda: sup.finished("listener"), self.config.replay_length + 600, "the replay's end")
                self._catch_up("end of replay", time.monotonic())
                self._final(set(ids))
            finally:
                sup.stop_all()
        self.report.restarts = dict(sup.restarts)
        self.report.exits = list(sup.exits)
        self.report.total_seconds = time.monotonic() - started
        text = self.report.text()
        print(text, flush=True)
        if report_path is not None:
            report_path.parent.mkdir(parents=True, exist_ok=True)
            report_path.write_text(text + "\n")
        return self.report

    def _wait(self, check: Callable[[], object], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(1.0)

    def _catch_up(self, fault: str, since: float) -> None:
        """Record how long after `since` (the restart) every mention sent by then + SETTLE seconds (what
        arrived while the restarted part was starting) was searchable."""
        time.sleep(max(0.0, since + self.config.settle - time.monotonic()))
        sent, _ = raw_ids(self.settings)
        deadline = time.monotonic() + self.config.catch_up_timeout
        indexed = self.index.count_of(sent)
        shown = time.monotonic()
        while indexed < len(sent) and time.monotonic() < deadline:
            time.sleep(0.5)
            indexed = self.index.count_of(sent)
            if time.monotonic() - shown > 15:
                say(f"{fault}: {indexed}/{len(sent)} searchable so far")
                shown = time.monotonic()
        took = time.monotonic() - since if indexed >= len(sent) else None
        self.report.faults.append(FaultResult(fault, len(sent), indexed, took))
        say(f"{fault}: {indexed}/{len(sent)} searchable, catch-up {took if took is None else round(took, 1)} s")
        if took is None:
            self._diagnose(sent)

    def _diagnose(self, sent: set[str]) -> None:
        """Where the mentions that never became searchable are: which partition and offset of mentions.raw,
        whether the worker scored them, and the groups' committed offsets (the evidence a stall or a lost
        commit leaves, gone once the engine pair is torn down)."""
        try:
            missing = sent - self.index.present(sent)
            say(f"not searchable: {len(missing)} mention(s), e.g. {sorted(missing)[:5]}")
            raw = locate(self.settings, "mentions.raw", missing)
            scored = locate(self.settings, "mentions.scored", missing)
            for mid in sorted(missing)[:20]:
                say(f"  {mid}: mentions.raw at {raw.get(mid, [])}, mentions.scored at {scored.get(mid, [])}")
            for group in (self.settings.topic("listening-center"), self.settings.topic("lc-indexer")):
                say(f"  committed offsets of {group}: {group_offsets(self.settings, group)}")
        except Exception as exc:  # the diagnosis must not hide the failure it explains
            say(f"diagnosis failed: {exc!r}")

    def _faults(self) -> None:
        sup, pair, gap = self.sup, self.pair, self.config.gap
        time.sleep(gap)  # the replay under way, every consumer in its group

        sup.restart("listener", signal.SIGTERM)
        self._catch_up("listener restarted (SIGTERM)", time.monotonic())
        time.sleep(gap)

        sup.restart("worker", signal.SIGKILL)
        self._catch_up("worker kill -9, restarted", time.monotonic())
        time.sleep(gap)

        sup.restart("indexer", signal.SIGKILL)
        self._catch_up("indexer kill -9, restarted", time.monotonic())
        time.sleep(gap)

        pair.kill_kafka()
        say("Kafka killed (-9); restarting it")
        since = time.monotonic()  # the catch-up includes the broker's own start
        pair.start()
        self._catch_up("Kafka kill -9, restarted", since)
        time.sleep(gap)

        pair.stop_es()
        say(f"Elasticsearch stopped for {self.config.es_pause:.0f} s")
        time.sleep(self.config.es_pause)
        since = time.monotonic()  # from the restart command: includes the node's own start
        pair.start()
        self._catch_up(f"Elasticsearch down {self.config.es_pause:.0f} s", since)

    def _final(self, expected: set[str]) -> None:
        from stream.schema import SpikeAlert

        r = self.report
        _, r.raw_records = raw_ids(self.settings)
        docs = self.index.all_docs()
        by_id = collections.Counter(src.get("id") for _, src in docs)
        r.indexed_docs, r.distinct_indexed = len(docs), len(by_id)
        r.duplicates = sum(n - 1 for n in by_id.values() if n > 1)
        r.lost = len(expected - set(by_id))
        r.unexpected = len(set(by_id) - expected)
        r.unscored = sum(1 for _, src in docs if not (src.get("sentiment") and src.get("scored_at")))
        r.dead_letters = len(topic_values(self.settings, "mentions.deadletter"))
        opened = {SpikeAlert.from_json(v).dedupe_key for v in topic_values(self.settings, "alerts.spikes")
                  if SpikeAlert.from_json(v).status == "open"}
        r.alerts_open = len(opened)
        r.alert_keys = sorted(opened)
        # The alerter sends what it recorded within a poll or two; give it time before counting.
        self._wait_quietly(lambda: self._triggers().keys() >= opened, 60)
        triggers = self._triggers()
        r.alerts_delivered = sum(triggers.values())
        r.alerts_missing = len(opened - triggers.keys())
        r.alerts_duplicated = sum(n - 1 for n in triggers.values() if n > 1) + self.receiver.duplicates

    def _triggers(self) -> collections.Counter[str]:
        with self.receiver.lock:
            bodies = [a.json() for a in self.receiver.accepted]
        return collections.Counter(b["alert"]["dedupe_key"] for b in bodies if b.get("action") == "trigger")

    def _wait_quietly(self, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not check() and time.monotonic() < deadline:
            time.sleep(1.0)
