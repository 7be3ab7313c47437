"""`listening-center listen SOURCE`: match a source's posts against the brand rules and send them to Kafka.

The per-item logic (`Listener.handle`) is plain code over an injected sink and clock: match the rules,
drop what names no brand and what was already sent, dead-letter what the platform sent broken. `run`
drives a source: after each batch it flushes the producer and only then stores the batch's cursors.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from infra import logs, metrics
from listeners.producer import Sink
from listeners.sources.base import Batch, Item, Source, SourceOff, SourceState
from stream.schema import DeadLetter, Mention, format_time

if TYPE_CHECKING:
    from infra.settings import Settings
    from listeners.cursors import CursorStore

log = logging.getLogger("listeners.runner")

DEFAULT_RULES = Path(__file__).parent / "rules" / "default_rules.yaml"
SOURCES = ("demo", "replay", "webhook", "rss", "mastodon", "bluesky", "reddit")
Clock = Callable[[], datetime]
# kafka-python refuses network frames over 1 MB by default while fetching up to 50 MB: reading a busy
# topic from an offset then fails with "Invalid frame length". Allow frames as large as a fetch.
RECEIVE_MAX = 64 * 1024 * 1024


class RuleMatchLike(Protocol):
    @property
    def brand(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def competitor(self) -> bool: ...
    @property
    def topics(self) -> tuple[str, ...]: ...


class RuleSetLike(Protocol):
    def match(self, post: Any) -> Sequence[RuleMatchLike]: ...


class RulesHolder:
    """The current rule set; the reload thread swaps it whole, so a post sees one rule set, never a mix."""

    def __init__(self, rules: RuleSetLike | None) -> None:
        self.current = rules
        self.version = 0

    def swap(self, rules: RuleSetLike | None) -> None:
        self.current = rules
        self.version += 1


class CombinedRules:
    """Several named rule sets (as the console publishes them) matched as one."""

    def __init__(self, sets: dict[str, RuleSetLike]) -> None:
        self.sets = dict(sets)

    def match(self, post: Any) -> list[RuleMatchLike]:
        return [m for name in sorted(self.sets) for m in self.sets[name].match(post)]


class Dedupe:
    """Ids seen recently (bounded LRU): the same post through two sources, or a page re-read, is sent once."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    def check_and_add(self, key: str) -> bool:
        """True if `key` was already seen (and refreshes it); otherwise remembers it."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        self._seen[key] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return False

    def forget(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._seen.pop(key, None)


def apply_rules(mention: Mention, rules: RuleSetLike) -> Mention | None:
    """Fill brand, competitor, matched rules and topics; None when no brand rule matched.

    Every match is a brand's (own or competitor) rule, carrying the brand's topics that also matched. A
    post that names an own brand and a competitor is the own brand's mention.
    """
    from listeners.rules import Post

    post = Post(mention.text, author=mention.author_handle, lang=mention.lang, source=mention.platform)
    matches = [m for m in rules.match(post) if m.brand]
    if not matches:
        return None
    own = [m for m in matches if not m.competitor]
    brand = (own or matches)[0].brand
    mine = [m for m in matches if m.brand == brand]
    return replace(
        mention,
        brand=brand,
        competitor=not own,
        matched_rules=sorted({m.rule_id for m in mine}),
        topics=sorted({t for m in mine for t in m.topics}),
    )


@dataclass
class Topics:
    raw: str
    dead: str


class Listener:
    """Turns a source's items into records on mentions.raw or mentions.deadletter, and counts them."""

    def __init__(
        self,
        state: SourceState,
        sink: Sink,
        topics: Topics,
        rules: RulesHolder | None,
        clock: Clock,
        dedupe: Dedupe | None = None,
        flush_every: int = 500,
    ) -> None:
        self.state, self.sink, self.topics, self.rules, self.clock = state, sink, topics, rules, clock
        self.dedupe = dedupe or Dedupe()
        self.flush_every = flush_every
        self._unflushed: list[str] = []  # ids sent but not yet acknowledged

    def handle(self, item: Item) -> str:
        """Send one item; returns what happened: sent | dead | no-brand | duplicate."""
        now = format_time(self.clock())
        if item.mention is None:
            self._dead(item.original, item.error or "unreadable item", now)
            return "dead"
        mention: Mention | None = item.mention
        if self.rules is not None and self.rules.current is not None:
            mention = apply_rules(item.mention, self.rules.current)
        elif not item.mention.brand:
            mention = None  # without rules, only a brand the source itself named (demo, webhook) counts
        if mention is None:
            self.state.dropped += 1
            return "no-brand"
        if self.dedupe.check_and_add(mention.id):
            self.state.dropped += 1
            return "duplicate"
        mention.ingested_at = now
        self.sink.send(self.topics.raw, mention.id, mention.to_json())
        log.debug("sent to %s", self.topics.raw, extra={"mention_id": mention.id})
        self._unflushed.append(mention.id)
        self.state.items += 1
        if self.state.last_post_at is None or mention.created_at > self.state.last_post_at:
            self.state.last_post_at = mention.created_at
        return "sent"

    def _dead(self, original: str, reason: str, now: str) -> None:
        letter = DeadLetter(reason=reason, stage=f"listener:{self.state.source}", original=original,
                            failed_at=now)
        self.sink.send(self.topics.dead, None, letter.to_json())
        self.state.dead += 1

    def process(self, batch: Batch) -> bool:
        """Handle a batch; True when everything sent so far is acknowledged (flushed).

        A batch with cursors is always flushed, since its cursor may advance only past acknowledged
        records, and so is one whose sender waits for the answer; a batch with neither (the demo) is
        flushed every `flush_every` records.
        """
        outcomes = [self.handle(item) for item in batch.items]
        metrics.record_listener(self.state.source, [i.mention.created_at if i.mention else None for i in batch.items],
                                outcomes, self.clock())
        if batch.quota_left is not None:
            self.state.quota_left = batch.quota_left
        if not (batch.cursors or batch.on_done or len(self._unflushed) >= self.flush_every):
            return False
        try:
            self.flush()
        except Exception as exc:
            if batch.on_done:
                batch.on_done(exc, outcomes)
            raise
        if batch.on_done:
            batch.on_done(None, outcomes)
        return True

    def flush(self) -> None:
        try:
            self.sink.flush()
        except Exception:
            # Not acknowledged: let a re-read of the same posts through the dedupe.
            self.dedupe.forget(self._unflushed)
            raise
        finally:
            self._unflushed = []


def run(
    source: Source,
    listener: Listener,
    store: CursorStore | None,
    clock: Clock,
    stop: threading.Event | None = None,
    max_items: int | None = None,
    state_every: timedelta = timedelta(seconds=5),
) -> SourceState:
    """Drive a source to its end (or `stop`, or `max_items` posts seen); cursors advance after acks."""
    state = listener.state
    cursors = store.load() if store else {}
    last_report = clock()
    state.status = "running"
    seen = 0
    try:
        for batch in source.batches(cursors):
            flushed = listener.process(batch)
            seen += len(batch.items)
            if batch.cursors and store is not None:
                assert flushed
                store.save(batch.cursors, clock())
            if store is not None and clock() - last_report >= state_every:
                store.save_state(state, clock())
                last_report = clock()
            if (stop is not None and stop.is_set()) or (max_items is not None and seen >= max_items):
                break
        listener.flush()
        state.status = "stopped"
    except Exception as exc:
        state.status = "stopped"
        state.last_error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        if store is not None:
            store.save_state(state, clock())
    return state


# ---------------------------------------------------------------------------------------------- I/O


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="listening-center listen", description="Run a listener source.")
    p.add_argument("source", choices=SOURCES)
    p.add_argument("--name", help="name for this listener's cursors and status (default: the source)")
    p.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="rule file (YAML)")
    p.add_argument("--no-rules", action="store_true",
                   help="skip rule matching; keep only posts whose source names the brand (demo, webhook)")
    p.add_argument("--no-live-rules", action="store_true", help="do not reload rules from listen.rules")
    p.add_argument("--max-items", type=int, help="stop after this many posts")
    p.add_argument("--once", action="store_true", help="polling sources: catch up once, then exit")
    demo = p.add_argument_group("demo")
    demo.add_argument("--scenario", default="normal")
    demo.add_argument("--seed", type=int, help="default: LC_DEMO_SEED")
    demo.add_argument("--rate", type=float, help="posts per second (default: LC_DEMO_RATE)")
    demo.add_argument("--duration", type=float, help="minutes (default: the scenario's length)")
    demo.add_argument("--fast", action="store_true", help="emit the whole scenario at once, not paced")
    demo.add_argument("--start", help="scenario start, ISO-8601 (default: now)")
    demo.add_argument("--write-jsonl", type=Path, help="write the scenario as JSON lines for backtest, then exit")
    replay = p.add_argument_group("replay")
    replay.add_argument("--file", type=Path, help="JSON lines (.jsonl) or CSV (.csv) of past mentions")
    replay.add_argument("--speed", type=float, default=1.0,
                        help="times the original pace; 0 = as fast as possible (default: 1)")
    p.add_argument("--stream", action="store_true",
                   help="mastodon: follow the hashtags on the streaming API between REST rounds")
    bsky = p.add_argument_group("bluesky")
    bsky.add_argument("--mode", choices=("jetstream", "search"),
                      help="default: jetstream when LC_BLUESKY_JETSTREAM_URL is set, else search")
    webhook = p.add_argument_group("webhook")
    webhook.add_argument("--host", help="default: LC_WEBHOOK_HOST")
    webhook.add_argument("--port", type=int, help="default: LC_WEBHOOK_PORT")
    return p


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _fetcher(state: SourceState, **headers: str) -> Any:
    import httpx

    from listeners.sources.fetch import Fetcher

    client = httpx.Client(timeout=30, follow_redirects=True,
                          headers={"User-Agent": "listening-center/0.1 (social care listening)", **headers})
    return Fetcher(client, state, time.sleep, _utcnow)


def build_source(args: argparse.Namespace, settings: Settings, state: SourceState) -> Source:
    """The source named on the command line, configured from the settings; SourceOff if it cannot run."""
    if args.source == "demo":
        from listeners.sources.demo import DemoSource

        start = datetime.fromisoformat(args.start) if args.start else None
        return DemoSource(
            args.scenario,
            args.seed if args.seed is not None else settings.demo_seed,
            args.rate if args.rate is not None else settings.demo_rate,
            (lambda: start) if start else _utcnow,
            time.monotonic,
            time.sleep,
            paced=not args.fast,
            duration=timedelta(minutes=args.duration) if args.duration else None,
        )
    if args.source == "replay":
        from listeners.sources.replay import ReplaySource

        if args.file is None:
            raise SourceOff("replay needs --file PATH")
        return ReplaySource(args.file, args.speed or None, time.monotonic, time.sleep)
    if args.source == "webhook":
        from listeners.sources.webhook import WebhookSource

        if not settings.webhook_secret:
            raise SourceOff("set LC_WEBHOOK_SECRET (the HMAC-SHA256 key callers sign with)")
        source = WebhookSource(args.host or settings.webhook_host,
                               args.port if args.port is not None else settings.webhook_port,
                               settings.webhook_secret)
        print(f"webhook listening on {source.url}", file=sys.stderr, flush=True)
        return source
    if args.source == "mastodon":
        from listeners.sources import mastodon

        feeds = mastodon.feeds_from(_csv(settings.mastodon_hashtags), _csv(settings.mastodon_accounts),
                                    _csv(settings.mastodon_queries), settings.mastodon_token)
        return mastodon.MastodonSource(settings.mastodon_url, feeds, _fetcher(state), settings.mastodon_token,
                                       poll_seconds=settings.listen_poll_seconds, once=args.once,
                                       stream=args.stream)
    if args.source == "reddit":
        from listeners.sources import reddit

        return reddit.RedditSource(
            settings.reddit_url, settings.reddit_token_url, settings.reddit_client_id,
            settings.reddit_client_secret,
            reddit.listings_from(_csv(settings.reddit_subreddits), _csv(settings.reddit_queries)),
            _fetcher(state, **{"User-Agent": settings.reddit_user_agent}),
            poll_seconds=settings.listen_poll_seconds, once=args.once)
    if args.source == "rss":
        from listeners.sources import rss

        return rss.RssSource(_csv(settings.rss_feeds), _fetcher(state), poll_seconds=settings.listen_poll_seconds,
                             once=args.once)
    if args.source == "bluesky":
        from listeners.sources import bluesky

        if not (args.mode or settings.bluesky_jetstream_url or settings.bluesky_api_url):
            raise SourceOff("set LC_BLUESKY_JETSTREAM_URL (the firehose), or LC_BLUESKY_API_URL with "
                            "LC_BLUESKY_QUERIES (search)")
        mode = args.mode or ("jetstream" if settings.bluesky_jetstream_url else "search")
        if mode == "jetstream":
            return bluesky.JetstreamSource(settings.bluesky_jetstream_url, state, time.sleep)
        return bluesky.SearchSource(settings.bluesky_api_url, _csv(settings.bluesky_queries), _fetcher(state),
                                    handle=settings.bluesky_handle, app_password=settings.bluesky_app_password,
                                    poll_seconds=settings.listen_poll_seconds, once=args.once)
    raise SourceOff(f"source {args.source!r} is not available in this build yet")


def _load_rules(args: argparse.Namespace) -> RulesHolder | None:
    if args.no_rules:
        return None
    from listeners.rules import load_rules

    return RulesHolder(load_rules(args.rules))


def watch_rules(settings: Settings, holder: RulesHolder, stop: threading.Event,
                parse: Callable[[bytes], RuleSetLike] | None = None, poll_seconds: float = 0.5) -> None:
    """Follow the compacted listen.rules topic (key: rule set name) from its start, swapping rules live.

    Runs in a background thread. Once the topic holds rule sets they are the truth (the console publishes
    every set it stores); the rule file only serves while the topic is empty. A record that does not parse
    is logged and skipped: the listener keeps the rules it has rather than matching nothing.
    """
    from kafka import KafkaConsumer, TopicPartition

    if parse is None:
        from listeners.rules import ruleset_from_dict

        def parse(value: bytes) -> RuleSetLike:
            return ruleset_from_dict(json.loads(value))

    topic = settings.topic("listen.rules")
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                             enable_auto_commit=False, client_id="listener-rules",
                             receive_message_max_bytes=RECEIVE_MAX)
    try:
        partitions = None
        while not stop.is_set() and not partitions:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                stop.wait(2.0)  # the topic is created by `topics`; until then, the file's rules hold
        if not partitions:
            return
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        fallback = holder.current
        sets: dict[str, RuleSetLike] = {}
        while not stop.is_set():
            changed = False
            for records in consumer.poll(timeout_ms=int(poll_seconds * 1000)).values():
                for record in records:
                    name = record.key.decode("utf-8", "replace") if record.key else ""
                    if record.value is None:
                        changed = sets.pop(name, None) is not None or changed
                        continue
                    try:
                        sets[name] = parse(record.value)
                    except Exception as exc:
                        log.warning("ignoring unreadable rule set %r at offset %s: %s", name, record.offset, exc)
                        continue
                    changed = True
            if changed:
                holder.swap(CombinedRules(sets) if sets else fallback)
                log.info("rules reloaded from %s: %s", topic, ", ".join(sorted(sets)) or "(rule file)")
    finally:
        consumer.close()


def warm_dedupe(bootstrap: str, topic: str, dedupe: Dedupe, per_partition: int = 5_000,
                timeout: float = 15.0) -> int:
    """Fill the dedupe with the ids at the tail of mentions.raw, so a restarted listener does not re-send
    what it sent just before it stopped (a page acknowledged but whose cursor was not yet stored, a boost
    of a post already seen). Returns how many ids were read.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             client_id="listener-dedupe", fetch_max_wait_ms=50,
                             receive_message_max_bytes=RECEIVE_MAX)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return 0
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        starts = consumer.beginning_offsets(partitions)
        todo = {}
        for tp in partitions:
            first = max(starts[tp], ends[tp] - per_partition)
            if first < ends[tp]:
                consumer.seek(tp, first)
                todo[tp] = ends[tp]
        count = 0
        deadline = time.monotonic() + timeout
        while todo and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                for record in records:
                    if record.key is not None:
                        dedupe.check_and_add(record.key.decode("utf-8", "replace"))
                        count += 1
            todo = {tp: end for tp, end in todo.items() if consumer.position(tp) < end}
        return count
    finally:
        consumer.close()


def _start_rules_watch(settings: Settings, holder: RulesHolder, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=watch_rules, args=(settings, holder, stop), daemon=True,
                              name="rules-watch")
    thread.start()
    return thread


def main(argv: list[str]) -> int:
    from infra.settings import Settings

    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    logs.configure(settings, "listener")  # quiets kafka's line-per-connection INFO too
    name = args.name or args.source

    if args.source == "demo" and args.write_jsonl:
        from listeners.sources import demo

        start = datetime.fromisoformat(args.start) if args.start else _utcnow()
        options: dict[str, Any] = {}
        if args.duration:
            options["duration"] = timedelta(minutes=args.duration)
        count = demo.write_jsonl(args.write_jsonl, args.scenario,
                                 args.seed if args.seed is not None else settings.demo_seed, start, **options)
        print(json.dumps({"written": count, "path": str(args.write_jsonl)}))
        return 0

    from infra.db import make_engine, migrate, session_factory
    from listeners.cursors import CursorStore

    engine = make_engine(settings.db_url)  # before migrating: it creates a SQLite file's folder
    migrate(settings.db_url)
    store = CursorStore(session_factory(engine), name)
    state = SourceState(name)
    try:
        source = build_source(args, settings, state)
    except SourceOff as exc:
        state.status, state.last_error = "off", str(exc)
        store.save_state(state, _utcnow())
        print(f"listener {name} is off: {exc}", file=sys.stderr)
        return 0
    except OSError as exc:  # a replay file that is not there, a webhook port already taken
        state.status, state.last_error = "stopped", str(exc)
        store.save_state(state, _utcnow())
        print(f"listener {name}: {exc}", file=sys.stderr)
        return 2

    try:
        rules = _load_rules(args)
    except (OSError, ValueError) as exc:
        print(f"listener {name}: cannot load rules from {args.rules}: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    # `down` and supervisors send SIGTERM: finish the batch in hand, flush, store the state, then exit.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: stop.set())
    if rules is not None and not args.no_live_rules:
        _start_rules_watch(settings, rules, stop)

    from listeners.producer import KafkaSink

    metrics.serve(settings, "listener")
    sink = KafkaSink(settings.kafka_bootstrap, client_id=f"listener-{name}")
    dedupe = Dedupe()
    warmed = warm_dedupe(settings.kafka_bootstrap, settings.topic("mentions.raw"), dedupe)
    log.info("listener %s: %d recent ids loaded for deduplication", name, warmed)
    listener = Listener(state, sink, Topics(settings.topic("mentions.raw"), settings.topic("mentions.deadletter")),
                        rules, _utcnow, dedupe)
    code = 0
    try:
        run(source, listener, store, _utcnow, stop, args.max_items)
    except KeyboardInterrupt:
        listener.flush()
    except Exception as exc:  # the state (with this error) is stored; a supervisor restarts us
        log.error("listener %s stopped: %s: %s", name, type(exc).__name__, exc)
        code = 1
    finally:
        stop.set()
        sink.close()
    print(json.dumps({"source": name, "sent": state.items, "dead": state.dead, "dropped": state.dropped}))
    return code
