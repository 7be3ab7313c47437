"""`listening-center status`: is the listening center keeping up, and if not, what is wrong.

Two halves. `gather` asks the engines, the pid files, the console, the database and the index for plain
facts (thin I/O, each probe failing soft). `assess` turns those facts into checks with a pure function over
an injected `now`, so every rule (a gap in coverage, lag too high, a quota nearly spent) is unit-tested.

Exit code 0 when no check fails, 1 otherwise: it doubles as a health check for a monitor or a probe.
Warnings (a quiet webhook, a quota running low, dead deliveries) are shown but do not fail the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from infra.settings import Settings

Level = Literal["ok", "warn", "fail"]
# Consumer groups by the component that owns them ({prefix} is the topic prefix).
GROUPS = {"worker": "{prefix}listening-center", "indexer": "{prefix}lc-indexer", "alerter": "{prefix}lc-alerter"}
# Sources that poll every LC_LISTEN_POLL_SECONDS; the others push batches as posts arrive.
POLLING = ("mastodon", "reddit", "rss", "bluesky")
PUSHED = ("webhook",)  # a quiet caller is not an outage: a gap is a warning only
STATE_EVERY = timedelta(seconds=5)  # listeners.runner.run stores its state at least this often while busy


@dataclass
class ListenerFact:
    source: str
    status: str
    last_fetch: datetime  # when the listener last stored its state (it does after every batch)
    last_post_at: datetime | None = None
    last_error: str | None = None
    quota_left: int | None = None
    items: int = 0
    dead: int = 0


@dataclass
class AlertFact:
    at: datetime
    brand: str
    kind: str
    status: str


@dataclass
class Facts:
    kafka: bool
    es_status: str | None  # green | yellow | red | None (no answer)
    pids: dict[str, int | None] = field(default_factory=dict)  # component -> pid from `up`'s pid files
    group_members: dict[str, int] = field(default_factory=dict)  # component -> live members of its group
    web_answers: bool | None = None  # /healthz of the console; None = not asked
    lags: dict[str, int] = field(default_factory=dict)  # component -> total lag of its group
    listeners: list[ListenerFact] = field(default_factory=list)
    database_error: str | None = None
    ingest_lag: dict[str, float] = field(default_factory=dict)  # platform -> seconds, newest indexed post
    dead_letters: int | None = None
    last_alert: AlertFact | None = None
    dead_deliveries: int = 0


@dataclass(frozen=True)
class Limits:
    poll_seconds: float = 60.0
    gap_factor: float = 3.0
    max_lag: int = 10_000
    min_quota: int = 10

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.listen_poll_seconds, settings.status_gap_factor, settings.status_max_lag,
                   settings.status_min_quota)


@dataclass
class Check:
    name: str
    level: Level
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    at: datetime
    checks: list[Check]

    @property
    def healthy(self) -> bool:
        return all(c.level != "fail" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "healthy": self.healthy,
                "checks": [asdict(c) for c in self.checks]}


def _ago(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def _interval(source: str, limits: Limits) -> timedelta:
    if source.startswith(POLLING):
        return max(timedelta(seconds=limits.poll_seconds), STATE_EVERY)
    return STATE_EVERY


def assess_listener(fact: ListenerFact, now: datetime, limits: Limits) -> Check:
    name = f"listener {fact.source}"
    data: dict[str, Any] = {"status": fact.status, "last_fetch": fact.last_fetch.isoformat(),
                            "last_post_at": fact.last_post_at.isoformat() if fact.last_post_at else None,
                            "quota_left": fact.quota_left, "sent": fact.items, "dead": fact.dead}
    seen = f"last fetch {_ago(now, fact.last_fetch)}"
    if fact.last_post_at is not None:
        seen += f", newest post {_ago(now, fact.last_post_at)}"
    if fact.status == "off":
        return Check(name, "ok", f"off: {fact.last_error or 'not configured'}", data)
    if fact.status == "stopped":
        if fact.last_error:
            return Check(name, "fail", f"stopped on an error: {fact.last_error}; {seen}", data)
        return Check(name, "ok", f"finished; {seen}", data)
    interval = _interval(fact.source, limits)
    silent = now - fact.last_fetch
    if silent > interval * limits.gap_factor:
        data["gap_seconds"] = silent.total_seconds()
        level: Level = "warn" if fact.source.startswith(PUSHED) else "fail"
        return Check(name, level, f"gap in coverage: no fetch for {int(silent.total_seconds())}s (more than "
                                  f"{limits.gap_factor:g}x its {int(interval.total_seconds())}s interval); {seen}",
                     data)
    if fact.quota_left is not None and fact.quota_left < limits.min_quota:
        return Check(name, "warn", f"{fact.status}, API quota nearly spent ({fact.quota_left} left); {seen}", data)
    quota = f", quota left {fact.quota_left}" if fact.quota_left is not None else ""
    return Check(name, "ok", f"{fact.status}; {seen}{quota}", data)


def _component(name: str, facts: Facts) -> Check:
    pid = facts.pids.get(name)
    members = facts.group_members.get(name, 0)
    lag = facts.lags.get(name)
    data: dict[str, Any] = {"pid": pid, "members": members, "lag": lag}
    ways = []
    if pid is not None:
        ways.append(f"pid {pid}")
    if members:
        ways.append(f"{members} member(s) in its consumer group")
    if name == "web" and facts.web_answers:
        ways.append("/healthz answers")
    if not ways:
        return Check(name, "fail", "not running (no live pid, no consumer group member, no answer)", data)
    return Check(name, "ok", ", ".join(ways), data)


def assess(facts: Facts, now: datetime, limits: Limits) -> Report:
    """Every check, in the order an operator reads them: engines, components, lag, sources, output."""
    checks = [
        Check("kafka", "ok" if facts.kafka else "fail", "answers" if facts.kafka else "does not answer"),
        Check("elasticsearch", "ok" if facts.es_status in ("green", "yellow") else "fail",
              f"cluster {facts.es_status or 'does not answer'}", {"status": facts.es_status}),
    ]
    for name in ("worker", "indexer", "alerter", "web"):
        checks.append(_component(name, facts))
    for name, lag in sorted(facts.lags.items()):
        level: Level = "fail" if lag > limits.max_lag else "ok"
        checks.append(Check(f"lag {name}", level, f"{lag} message(s) behind (limit {limits.max_lag})",
                            {"group": GROUPS.get(name, name), "lag": lag}))
    if facts.database_error:
        checks.append(Check("database", "fail", facts.database_error))
    checks += [assess_listener(f, now, limits) for f in facts.listeners]
    for platform, seconds in sorted(facts.ingest_lag.items()):
        # Information only: a replay of history has posts days old, which is no fault of the pipeline.
        checks.append(Check(f"ingest lag {platform}", "ok", f"{seconds:.1f}s from post to Kafka (newest indexed)",
                            {"seconds": seconds}))
    if facts.dead_letters is not None:
        # Bad input is expected; it is counted so an operator sees a jump, not treated as a failure.
        checks.append(Check("dead letters", "ok", f"{facts.dead_letters} message(s) in the dead-letter topic",
                            {"count": facts.dead_letters}))
    if facts.last_alert is not None:
        a = facts.last_alert
        checks.append(Check("last alert", "ok", f"{a.kind} {a.status} for {a.brand} {_ago(now, a.at)}",
                            {"at": a.at.isoformat(), "brand": a.brand, "kind": a.kind, "status": a.status}))
    else:
        checks.append(Check("last alert", "ok", "none received yet"))
    if facts.dead_deliveries:
        checks.append(Check("alert deliveries", "warn", f"{facts.dead_deliveries} delivery(ies) gave up (dead)",
                            {"dead": facts.dead_deliveries}))
    return Report(now, checks)


# ---------------------------------------------------------------------------------------------- I/O


def consumer_groups(settings: Settings) -> tuple[dict[str, int], dict[str, int]]:
    """(live members, total lag) per component's consumer group, over the topics each group consumes."""
    from kafka import KafkaAdminClient, KafkaConsumer

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=5000)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    names = {component: pattern.format(prefix=settings.topic_prefix) for component, pattern in GROUPS.items()}
    members: dict[str, int] = {}
    lags: dict[str, int] = {}
    try:
        for info in admin.describe_consumer_groups(list(names.values())):
            for component, group in names.items():
                if info.group == group:
                    members[component] = len(info.members)
        for component, group in names.items():
            committed = admin.list_consumer_group_offsets(group)
            # Internal faust topics (changelogs, leader) are not part of the product's lag.
            committed = {tp: om for tp, om in committed.items() if not tp.topic.startswith(group)}
            if not committed:
                continue
            ends = consumer.end_offsets(list(committed))
            lags[component] = sum(max(0, ends[tp] - om.offset) for tp, om in committed.items() if om.offset >= 0)
    finally:
        consumer.close()
        admin.close()
    return members, lags


def topic_size(settings: Settings, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        ends, begins = consumer.end_offsets(tps), consumer.beginning_offsets(tps)
        return sum(ends[tp] - begins[tp] for tp in tps)
    finally:
        consumer.close()


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse(value: str | None) -> datetime | None:
    from stream.schema import SchemaError, parse_time

    try:
        return parse_time(value) if value else None
    except SchemaError:
        return None


def read_database(settings: Settings, facts: Facts) -> None:
    """Listener states (listeners/cursors.py) and the alerting outbox's last alert and dead deliveries."""
    import sqlalchemy as sa

    from alerting.outbox import AlertRecord, Delivery
    from infra.db import make_engine, session_factory
    from listeners.cursors import read_states

    engine = make_engine(settings.db_url)
    try:
        factory = session_factory(engine)
        for row in read_states(factory):
            facts.listeners.append(ListenerFact(
                row["source"], row["status"], _aware(row["updated_at"]), _parse(row["last_post_at"]),
                row["last_error"], row["quota_left"], row["items"] or 0, row["dead"] or 0))
        with factory() as session:
            latest = session.scalar(sa.select(AlertRecord).where(AlertRecord.status.is_not(None))
                                    .order_by(AlertRecord.received_at.desc()).limit(1))
            if latest is not None:
                payload = json.loads(latest.payload)
                facts.last_alert = AlertFact(_aware(latest.received_at), str(payload.get("brand", "?")),
                                             str(payload.get("kind", "?")), latest.status or "?")
            facts.dead_deliveries = session.scalar(
                sa.select(sa.func.count()).select_from(Delivery).where(Delivery.status == "dead")) or 0
    except sa.exc.SQLAlchemyError as exc:
        facts.database_error = f"{settings.db_url.split('@')[-1]}: {type(exc).__name__} (not migrated?)"
    finally:
        engine.dispose()


def ingest_lags(settings: Settings) -> dict[str, float]:
    """Seconds from post to Kafka of the newest indexed mention per platform (ingested_at - created_at)."""
    from elasticsearch import ApiError

    from stream import documents, es_admin

    es = es_admin.client(settings.es_url, request_timeout=5)
    try:
        resp = es.search(index=documents.read_alias(settings.index_prefix), size=0, ignore_unavailable=True,
                         aggs={"p": {"terms": {"field": "platform", "size": 50},
                                     "aggs": {"newest": {"top_hits": {
                                         "size": 1, "sort": [{"ingested_at": "desc"}],
                                         "_source": ["created_at", "ingested_at"]}}}}})
    except ApiError:
        return {}
    out: dict[str, float] = {}
    for bucket in resp.get("aggregations", {}).get("p", {}).get("buckets", []):
        hit = bucket["newest"]["hits"]["hits"][0]["_source"]
        created, ingested = _parse(hit.get("created_at")), _parse(hit.get("ingested_at"))
        if created and ingested:
            out[bucket["key"]] = max(0.0, (ingested - created).total_seconds())
    return out


def web_answers(settings: Settings) -> bool:
    import httpx

    try:
        return httpx.get(f"{settings.console_url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def gather(settings: Settings) -> Facts:
    from infra.engines.local import Paths, es_health, kafka_ready, running_pid

    facts = Facts(kafka=kafka_ready(settings.kafka_bootstrap), es_status=es_health(settings.es_url))
    paths = Paths.of(settings)
    facts.pids = {name: running_pid(paths, name) for name in ("worker", "indexer", "alerter", "web")}
    facts.web_answers = web_answers(settings)
    if facts.kafka:
        facts.group_members, facts.lags = consumer_groups(settings)
        facts.dead_letters = topic_size(settings, settings.topic("mentions.deadletter"))
    read_database(settings, facts)
    if facts.es_status is not None:
        facts.ingest_lag = ingest_lags(settings)
    return facts


def report(settings: Settings, now: datetime | None = None) -> Report:
    return assess(gather(settings), now or datetime.now(UTC), Limits.of(settings))


def render_text(rep: Report) -> str:
    width = max(len(c.name) for c in rep.checks)
    mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    lines = [f"{mark[c.level]} {c.name.ljust(width)}  {c.detail}" for c in rep.checks]
    return "\n".join([*lines, "healthy" if rep.healthy else "UNHEALTHY"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center status", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    rep = report(Settings.from_env())
    print(json.dumps(rep.to_dict(), indent=2) if args.json else render_text(rep))
    return 0 if rep.healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
