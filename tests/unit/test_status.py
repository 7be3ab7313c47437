"""The status rules over plain facts, with a fixed `now`: no engines, no wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infra.status import AlertFact, Facts, Limits, ListenerFact, assess, assess_listener, render_text

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = Limits(poll_seconds=60, gap_factor=3, max_lag=1000, min_quota=10)


def healthy_facts() -> Facts:
    return Facts(
        kafka=True, es_status="green",
        pids={"worker": 11, "indexer": 12, "alerter": None, "web": None},
        group_members={"alerter": 1}, web_answers=True,
        lags={"worker": 3, "indexer": 0},
        listeners=[ListenerFact("mastodon", "running", NOW - timedelta(seconds=30), NOW - timedelta(minutes=2),
                                quota_left=250)],
        ingest_lag={"mastodon": 4.5}, dead_letters=7,
        last_alert=AlertFact(NOW - timedelta(minutes=5), "Southwest", "spike", "open"),
    )


def by_name(facts: Facts) -> dict[str, tuple[str, str]]:
    return {c.name: (c.level, c.detail) for c in assess(facts, NOW, LIMITS).checks}


def test_everything_up_is_healthy_and_says_what_it_saw() -> None:
    report = assess(healthy_facts(), NOW, LIMITS)
    assert report.healthy
    checks = by_name(healthy_facts())
    assert checks["alerter"][0] == "ok" and "1 member(s)" in checks["alerter"][1]
    assert checks["web"] == ("ok", "/healthz answers")
    assert checks["lag worker"] == ("ok", "3 message(s) behind (limit 1000)")
    assert "quota left 250" in checks["listener mastodon"][1]
    assert checks["ingest lag mastodon"][1].startswith("4.5s")
    assert checks["dead letters"] == ("ok", "7 message(s) in the dead-letter topic")
    assert checks["last alert"] == ("ok", "spike open for Southwest 5m ago")
    assert report.to_dict()["healthy"] is True
    assert render_text(report).endswith("healthy")


def test_engines_down_and_missing_components_fail() -> None:
    facts = healthy_facts()
    facts.kafka, facts.es_status = False, None
    facts.pids["worker"], facts.group_members = None, {}
    checks = by_name(facts)
    assert checks["kafka"][0] == checks["elasticsearch"][0] == "fail"
    assert checks["worker"][0] == "fail" and checks["alerter"][0] == "fail"
    assert checks["indexer"][0] == "ok"  # its pid is alive
    assert not assess(facts, NOW, LIMITS).healthy
    assert render_text(assess(facts, NOW, LIMITS)).endswith("UNHEALTHY")


def test_lag_over_the_limit_fails() -> None:
    facts = healthy_facts()
    facts.lags["indexer"] = 1001
    assert by_name(facts)["lag indexer"][0] == "fail"


def test_a_polling_source_silent_for_more_than_n_intervals_is_a_gap() -> None:
    fact = ListenerFact("mastodon", "running", NOW - timedelta(seconds=179))
    assert assess_listener(fact, NOW, LIMITS).level == "ok"
    fact.last_fetch = NOW - timedelta(seconds=181)
    check = assess_listener(fact, NOW, LIMITS)
    assert check.level == "fail" and "gap in coverage" in check.detail and check.data["gap_seconds"] == 181


def test_a_streaming_source_is_held_to_its_state_interval_and_a_quiet_webhook_only_warns() -> None:
    assert assess_listener(ListenerFact("demo", "running", NOW - timedelta(seconds=16)), NOW, LIMITS).level == "fail"
    assert assess_listener(ListenerFact("demo", "running", NOW - timedelta(seconds=14)), NOW, LIMITS).level == "ok"
    webhook = ListenerFact("webhook", "running", NOW - timedelta(hours=1))
    assert assess_listener(webhook, NOW, LIMITS).level == "warn"


def test_quota_off_and_stopped_listeners() -> None:
    low = ListenerFact("reddit", "running", NOW, quota_left=3)
    assert assess_listener(low, NOW, LIMITS).level == "warn"
    off = ListenerFact("bluesky", "off", NOW - timedelta(days=3), last_error="set LC_BLUESKY_JETSTREAM_URL")
    assert assess_listener(off, NOW, LIMITS).detail == "off: set LC_BLUESKY_JETSTREAM_URL"
    assert assess_listener(off, NOW, LIMITS).level == "ok"
    done = ListenerFact("replay", "stopped", NOW - timedelta(days=1))
    assert assess_listener(done, NOW, LIMITS).level == "ok"
    crashed = ListenerFact("rss", "stopped", NOW - timedelta(minutes=1), last_error="ConnectError: refused")
    assert assess_listener(crashed, NOW, LIMITS).level == "fail"


def test_dead_deliveries_warn_and_a_database_error_fails() -> None:
    facts = healthy_facts()
    facts.dead_deliveries, facts.last_alert = 2, None
    checks = by_name(facts)
    assert checks["alert deliveries"][0] == "warn"
    assert checks["last alert"] == ("ok", "none received yet")
    assert assess(facts, NOW, LIMITS).healthy
    facts.database_error = "lc.db: OperationalError (not migrated?)"
    assert not assess(facts, NOW, LIMITS).healthy
