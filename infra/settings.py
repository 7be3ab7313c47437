"""Every setting of the product, read from the environment in this one place.

Defaults run the whole product on one machine. Pointing `LC_KAFKA_BOOTSTRAP` or `LC_ES_URL` somewhere
else makes the product use that cluster, and then the matching local engine is not started.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_KAFKA = "127.0.0.1:9092"
DEFAULT_ES = "http://127.0.0.1:9200"
LOOPBACK = {"127.0.0.1", "localhost"}


def _default_runtime() -> Path:
    # Elasticsearch refuses to run as root and its service user cannot enter /root, so as root the
    # runtime folder (engine installs, data, logs) lives under /var/lib.
    if os.geteuid() == 0:
        return Path("/var/lib/listening-center")
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "listening-center"


def _default_cache() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "listening-center"


def _bool(value: str) -> bool:
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (1/0, true/false), got {value!r}")


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str = field(default=DEFAULT_KAFKA, metadata={"env": "LC_KAFKA_BOOTSTRAP"})
    es_url: str = field(default=DEFAULT_ES, metadata={"env": "LC_ES_URL"})
    runtime_dir: Path = field(default_factory=_default_runtime, metadata={"env": "LC_RUNTIME_DIR", "type": Path})
    cache_dir: Path = field(default_factory=_default_cache, metadata={"env": "LC_CACHE_DIR", "type": Path})
    # Prefixes let tests (and several deployments on one cluster) use their own topics and indices.
    topic_prefix: str = field(default="", metadata={"env": "LC_TOPIC_PREFIX"})
    index_prefix: str = field(default="lc", metadata={"env": "LC_INDEX_PREFIX"})
    kafka_heap: str = field(default="512m", metadata={"env": "LC_KAFKA_HEAP"})
    es_heap: str = field(default="768m", metadata={"env": "LC_ES_HEAP"})
    es_user: str = field(default="lcsearch", metadata={"env": "LC_ES_USER"})
    database_url: str = field(default="", metadata={"env": "LC_DATABASE_URL"})
    secret_key: str = field(default="", metadata={"env": "LC_SECRET_KEY"})
    web_host: str = field(default="127.0.0.1", metadata={"env": "LC_WEB_HOST"})
    web_port: int = field(default=8000, metadata={"env": "LC_WEB_PORT", "type": int})
    public_url: str = field(default="", metadata={"env": "LC_PUBLIC_URL"})
    demo_rate: float = field(default=5.0, metadata={"env": "LC_DEMO_RATE", "type": float})
    demo_seed: int = field(default=42, metadata={"env": "LC_DEMO_SEED", "type": int})
    worker_web_port: int = field(default=6066, metadata={"env": "LC_WORKER_WEB_PORT", "type": int})
    # Kafka static membership for the stream worker: a stable id per worker process (unique in the group) lets
    # a restarted worker take its partitions back at once instead of after the old session's 60 s timeout.
    worker_instance_id: str = field(default="", metadata={"env": "LC_WORKER_INSTANCE_ID"})
    # Raw mentions waiting and none processed for this long: the worker exits to be restarted (stream/watchdog.py).
    worker_stall_seconds: float = field(default=120.0, metadata={"env": "LC_WORKER_STALL_SECONDS", "type": float})
    indexer_batch_size: int = field(default=2000, metadata={"env": "LC_INDEXER_BATCH", "type": int})
    indexer_batch_seconds: float = field(default=0.5, metadata={"env": "LC_INDEXER_BATCH_SECONDS", "type": float})
    log_level: str = field(default="INFO", metadata={"env": "LC_LOG_LEVEL"})
    secure_cookies: bool = field(default=False, metadata={"env": "LC_SECURE_COOKIES", "type": bool})
    loyalty_id_pattern: str = field(default=r"[A-Z0-9]{6,12}", metadata={"env": "LC_LOYALTY_ID_PATTERN"})  # full match
    # Alerting (alerting/): a channel whose required settings are empty is off, and the alerter says so.
    alert_routes: str = field(default="", metadata={"env": "LC_ALERT_ROUTES"})  # "" = alerting/routes.yaml
    alert_webhook_url: str = field(default="", metadata={"env": "LC_ALERT_WEBHOOK_URL"})
    alert_webhook_secret: str = field(default="", metadata={"env": "LC_ALERT_WEBHOOK_SECRET"})
    alert_slack_webhook_url: str = field(default="", metadata={"env": "LC_ALERT_SLACK_WEBHOOK_URL"})
    alert_smtp_host: str = field(default="", metadata={"env": "LC_ALERT_SMTP_HOST"})
    alert_smtp_port: int = field(default=25, metadata={"env": "LC_ALERT_SMTP_PORT", "type": int})
    alert_smtp_user: str = field(default="", metadata={"env": "LC_ALERT_SMTP_USER"})
    alert_smtp_password: str = field(default="", metadata={"env": "LC_ALERT_SMTP_PASSWORD"})
    alert_smtp_starttls: bool = field(default=False, metadata={"env": "LC_ALERT_SMTP_STARTTLS", "type": bool})
    alert_smtp_cafile: str = field(default="", metadata={"env": "LC_ALERT_SMTP_CAFILE"})  # "" = system CAs
    alert_email_from: str = field(default="", metadata={"env": "LC_ALERT_EMAIL_FROM"})
    alert_email_to: str = field(default="", metadata={"env": "LC_ALERT_EMAIL_TO"})  # comma-separated
    alert_pagerduty_url: str = field(default="https://events.pagerduty.com/v2/enqueue",
                                     metadata={"env": "LC_ALERT_PAGERDUTY_URL"})
    alert_pagerduty_routing_key: str = field(default="", metadata={"env": "LC_ALERT_PAGERDUTY_ROUTING_KEY"})
    alert_timeout_seconds: float = field(default=5.0, metadata={"env": "LC_ALERT_TIMEOUT_SECONDS",
                                                                "type": float})
    alert_send_tries: int = field(default=3, metadata={"env": "LC_ALERT_SEND_TRIES", "type": int})
    alert_retry_base_seconds: float = field(default=10.0, metadata={"env": "LC_ALERT_RETRY_BASE_SECONDS",
                                                                    "type": float})
    alert_retry_max_seconds: float = field(default=600.0, metadata={"env": "LC_ALERT_RETRY_MAX_SECONDS",
                                                                    "type": float})
    alert_max_attempts: int = field(default=10, metadata={"env": "LC_ALERT_MAX_ATTEMPTS", "type": int})
    alert_poll_seconds: float = field(default=1.0, metadata={"env": "LC_ALERT_POLL_SECONDS", "type": float})
    alert_link_hours: float = field(default=24.0, metadata={"env": "LC_ALERT_LINK_HOURS", "type": float})
    # Listener sources. Lists are comma-separated; a source whose credentials or URLs are empty is off.
    listen_poll_seconds: float = field(default=60.0, metadata={"env": "LC_LISTEN_POLL_SECONDS", "type": float})
    webhook_host: str = field(default="127.0.0.1", metadata={"env": "LC_WEBHOOK_HOST"})
    webhook_port: int = field(default=8091, metadata={"env": "LC_WEBHOOK_PORT", "type": int})
    webhook_secret: str = field(default="", metadata={"env": "LC_WEBHOOK_SECRET"})
    rss_feeds: str = field(default="", metadata={"env": "LC_RSS_FEEDS"})
    mastodon_url: str = field(default="", metadata={"env": "LC_MASTODON_URL"})  # https://mastodon.social
    mastodon_token: str = field(default="", metadata={"env": "LC_MASTODON_TOKEN"})
    mastodon_hashtags: str = field(default="", metadata={"env": "LC_MASTODON_HASHTAGS"})
    mastodon_accounts: str = field(default="", metadata={"env": "LC_MASTODON_ACCOUNTS"})  # account ids
    mastodon_queries: str = field(default="", metadata={"env": "LC_MASTODON_QUERIES"})
    bluesky_jetstream_url: str = field(default="", metadata={"env": "LC_BLUESKY_JETSTREAM_URL"})
    bluesky_api_url: str = field(default="", metadata={"env": "LC_BLUESKY_API_URL"})
    bluesky_handle: str = field(default="", metadata={"env": "LC_BLUESKY_HANDLE"})
    bluesky_app_password: str = field(default="", metadata={"env": "LC_BLUESKY_APP_PASSWORD"})
    bluesky_queries: str = field(default="", metadata={"env": "LC_BLUESKY_QUERIES"})
    reddit_url: str = field(default="https://oauth.reddit.com", metadata={"env": "LC_REDDIT_URL"})
    reddit_token_url: str = field(default="https://www.reddit.com/api/v1/access_token",
                                  metadata={"env": "LC_REDDIT_TOKEN_URL"})
    reddit_client_id: str = field(default="", metadata={"env": "LC_REDDIT_CLIENT_ID"})
    reddit_client_secret: str = field(default="", metadata={"env": "LC_REDDIT_CLIENT_SECRET"})
    reddit_user_agent: str = field(default="listening-center/0.1", metadata={"env": "LC_REDDIT_USER_AGENT"})
    reddit_subreddits: str = field(default="", metadata={"env": "LC_REDDIT_SUBREDDITS"})
    reddit_queries: str = field(default="", metadata={"env": "LC_REDDIT_QUERIES"})
    # Operations (docs/operations.md). Metrics: one HTTP endpoint per process at base + the component's
    # offset (infra/metrics.py) + the instance number (worker@2 -> +2); 0 = no endpoint.
    metrics_port: int = field(default=0, metadata={"env": "LC_METRICS_PORT", "type": int})
    metrics_host: str = field(default="127.0.0.1", metadata={"env": "LC_METRICS_HOST"})
    metrics_instance: int = field(default=0, metadata={"env": "LC_METRICS_INSTANCE", "type": int})
    log_format: str = field(default="text", metadata={"env": "LC_LOG_FORMAT"})  # text | json
    status_gap_factor: float = field(default=3.0, metadata={"env": "LC_STATUS_GAP_FACTOR", "type": float})
    status_max_lag: int = field(default=10_000, metadata={"env": "LC_STATUS_MAX_LAG", "type": int})
    status_min_quota: int = field(default=10, metadata={"env": "LC_STATUS_MIN_QUOTA", "type": int})
    mention_retention_months: int = field(default=0, metadata={"env": "LC_MENTION_RETENTION_MONTHS", "type": int})
    case_retention_days: int = field(default=0, metadata={"env": "LC_CASE_RETENTION_DAYS", "type": int})  # 0 = keep
    # Copies of each topic partition the product creates (its topics and faust's): 3 on a multi-broker cluster.
    kafka_replication: int = field(default=1, metadata={"env": "LC_KAFKA_REPLICATION", "type": int})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f.metadata["env"]
            if name not in env:
                continue
            raw = env[name]
            coerce: Callable[[str], Any] = {bool: _bool}.get(f.metadata.get("type", str), f.metadata.get("type", str))
            try:
                values[f.name] = coerce(raw)
            except ValueError as exc:
                raise SettingsError(f"{name}: {exc}") from exc
        return cls(**values)

    # Derived values: kept as methods so they can never disagree with the fields they come from.
    # A loopback address means "this machine": the product provisions and starts the engine there itself
    # (on that port). Any other address is a cluster someone else runs.
    @property
    def local_kafka(self) -> bool:
        hosts = [b.rsplit(":", 1)[0] for b in self.kafka_bootstrap.split(",")]
        return len(hosts) == 1 and hosts[0] in LOOPBACK

    @property
    def local_es(self) -> bool:
        return (urlsplit(self.es_url).hostname or "") in LOOPBACK

    @property
    def kafka_port(self) -> int:
        return int(self.kafka_bootstrap.rsplit(":", 1)[1])

    @property
    def es_port(self) -> int:
        return urlsplit(self.es_url).port or 9200

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.runtime_dir / 'listening-center.db'}"

    @property
    def console_url(self) -> str:
        return self.public_url or f"http://{self.web_host}:{self.web_port}"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def index(self, name: str) -> str:
        return f"{self.index_prefix}-{name}"


class SettingsError(ValueError):
    """A setting in the environment has a value that cannot be used."""


def env_names() -> dict[str, str]:
    """Environment variable -> setting name, for the docs and `--help`."""
    return {f.metadata["env"]: f.name for f in fields(Settings)}
