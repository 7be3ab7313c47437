"""Routing rules, dedupe, grouping, quiet hours, cooldown and escalation, on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerting.routing import (
    DEFAULT_ROUTES,
    IncidentState,
    Router,
    RoutingConfig,
    RoutingError,
    Target,
    retry_delay,
    still_wanted,
)
from stream.schema import SpikeAlert

# 15:00 UTC = 09:00 in Chicago (CST, winter): business hours, not quiet.
T0 = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)

CONFIG: dict[str, Any] = {
    "timezone": "America/Chicago",
    "cooldown_minutes": 30,
    "quiet_hours": {"hours": "22:00-07:00", "severities": ["info"]},
    "policies": {
        "standard": [
            {"after_minutes": 0, "targets": ["webhook", "email"]},
            {"after_minutes": 10, "targets": ["pagerduty"]},
            {"after_minutes": 25, "targets": ["email:boss@example.com"]},
        ],
        "bags": [{"after_minutes": 0, "targets": ["slack"]}],
        "night": [{"after_minutes": 0, "targets": ["email"]}],
    },
    "routes": [
        {"name": "baggage", "match": {"brand": "Southwest", "category": ["baggage"]}, "policy": "bags"},
        {"name": "night", "match": {"hours": "20:00-06:00"}, "policy": "night"},
        {"name": "default", "policy": "standard"},
    ],
}


def alert(status: str = "open", severity: str = "warning", **kw: Any) -> SpikeAlert:
    base: dict[str, Any] = dict(dedupe_key="southwest:all:spike", kind="spike", brand="southwest",
                                window_start="2025-01-15T14:50:00Z", window_end="2025-01-15T15:00:00Z",
                                observed=48, expected=6, score=9.5, detected_at="2025-01-15T15:00:00Z",
                                severity=severity, status=status)
    base.update(kw)
    return SpikeAlert(**base)


@pytest.fixture
def router() -> Router:
    return Router(RoutingConfig.from_dict(CONFIG))


def targets(decision: Any) -> list[str]:
    return [str(i.target) for i in decision.intents]


def test_default_routes_file_loads_and_ends_with_catch_all() -> None:
    config = RoutingConfig.load(DEFAULT_ROUTES)
    assert config.routes[-1].name == "default"
    assert {"slack", "webhook", "email", "pagerduty"} <= config.channels()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"routes": [{"name": "x", "match": {"severity": "critical"}, "policy": "standard"}]}, "must match everything"),
        ({"routes": [{"name": "x", "policy": "nope"}]}, "unknown policy"),
        ({"policies": {"standard": [{"after_minutes": 5, "targets": ["slack"]}]}}, "notified at once"),
        ({"timezone": "Mars/Olympus"}, "unknown"),
        ({"quiet_hours": {"hours": "25:00-07:00"}}, "HH:MM-HH:MM"),
        ({"colour": "red"}, "unknown keys"),
    ],
)
def test_bad_routing_files_are_refused_with_a_reason(change: dict[str, Any], message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        RoutingConfig.from_dict({**CONFIG, **change})


def test_routes_match_by_brand_category_and_time_of_day(router: Router) -> None:
    config = router.config
    assert config.route_for(alert(category="baggage"), T0).name == "baggage"
    assert config.route_for(alert(category="delays"), T0).name == "default"
    late = datetime(2025, 1, 16, 3, 0, tzinfo=UTC)  # 21:00 in Chicago
    assert config.route_for(alert(), late).name == "night"


def test_first_alert_opens_an_incident_and_notifies_tier_zero(router: Router) -> None:
    decision = router.on_alert(alert(), None, [], T0)
    assert decision.new_incident
    assert decision.state.status == "open"
    assert targets(decision) == ["webhook", "email"]
    assert all(i.action == "trigger" and i.due_at == T0 for i in decision.intents)


def test_repeats_and_updates_are_grouped_silently(router: Router) -> None:
    opened = router.on_alert(alert(), None, [], T0).state
    notified = [Target("webhook"), Target("email")]
    again = router.on_alert(alert(), opened, notified, T0 + timedelta(minutes=1))
    update = router.on_alert(alert(status="update"), again.state, notified, T0 + timedelta(minutes=2))
    assert not again.intents and not update.intents
    assert not again.new_incident
    assert update.state.updates == 2


def test_rising_severity_sends_one_update_to_those_already_told(router: Router) -> None:
    opened = router.on_alert(alert(), None, [], T0).state
    notified = [Target("webhook"), Target("email"), Target("webhook")]
    louder = router.on_alert(alert(status="update", severity="critical"), opened, notified, T0)
    assert [(str(i.target), i.action) for i in louder.intents] == [("webhook", "update"), ("email", "update")]
    assert louder.state.severity == "critical"


def test_unacknowledged_incident_escalates_tier_by_tier(router: Router) -> None:
    state = router.on_alert(alert(), None, [], T0).state
    assert router.next_tick(state) == T0 + timedelta(minutes=10)
    early = router.on_tick(state, T0 + timedelta(minutes=9))
    assert not early.intents
    tier1 = router.on_tick(state, T0 + timedelta(minutes=10))
    assert targets(tier1) == ["pagerduty"] and tier1.intents[0].action == "escalate"
    assert tier1.state.tier == 1
    assert not router.on_tick(tier1.state, T0 + timedelta(minutes=11)).intents  # each tier once
    tier2 = router.on_tick(tier1.state, T0 + timedelta(minutes=25))
    assert targets(tier2) == ["email:boss@example.com"]
    assert router.next_tick(tier2.state) is None


def test_catching_up_after_downtime_escalates_through_every_missed_tier(router: Router) -> None:
    state = router.on_alert(alert(), None, [], T0).state
    late = router.on_tick(state, T0 + timedelta(hours=1))
    assert targets(late) == ["pagerduty", "email:boss@example.com"]


def test_acknowledge_stops_escalation_and_tells_only_ack_aware_channels(router: Router) -> None:
    state = router.on_tick(router.on_alert(alert(), None, [], T0).state, T0 + timedelta(minutes=10)).state
    notified = [Target("webhook"), Target("email"), Target("pagerduty")]
    acked = router.on_acknowledge(state, notified, T0 + timedelta(minutes=12))
    assert acked.state.status == "acknowledged"
    assert [(str(i.target), i.action) for i in acked.intents] == [("pagerduty", "acknowledge")]
    assert not router.on_tick(acked.state, T0 + timedelta(hours=2)).intents
    assert router.next_tick(acked.state) is None
    assert not router.on_alert(alert(severity="critical"), acked.state, notified, T0).intents


def test_resolve_tells_everyone_who_was_told(router: Router) -> None:
    state = router.on_alert(alert(), None, [], T0).state
    done = router.on_alert(alert(status="resolved"), state, [Target("webhook")], T0 + timedelta(minutes=5))
    assert done.state.status == "resolved"
    assert [(str(i.target), i.action) for i in done.intents] == [("webhook", "resolve")]
    assert not router.on_alert(alert(status="resolved"), done.state, [], T0).intents


def test_resolved_alert_without_an_incident_is_kept_but_tells_nobody(router: Router) -> None:
    decision = router.on_alert(alert(status="resolved"), None, [], T0)
    assert decision.new_incident and decision.state.status == "resolved" and not decision.intents


def test_reopen_within_cooldown_waits_until_cooldown_ends(router: Router) -> None:
    state = router.on_alert(alert(), None, [], T0).state
    resolved = router.on_resolve(state, [], T0 + timedelta(minutes=5)).state
    flap = router.on_alert(alert(), resolved, [], T0 + timedelta(minutes=10))
    assert not flap.new_incident and flap.state.round == 2 and flap.state.status == "open"
    assert {i.due_at for i in flap.intents} == {T0 + timedelta(minutes=35)}
    assert {i.slug for i in flap.intents} == {"r2-trigger-t0"}  # distinct from round 1's deliveries
    later = router.on_alert(alert(), resolved, [], T0 + timedelta(minutes=40))
    assert later.new_incident and later.state.round == 1


def test_quiet_hours_defer_low_severity_but_not_high(router: Router) -> None:
    night = datetime(2025, 1, 16, 5, 0, tzinfo=UTC)  # 23:00 in Chicago
    info = router.on_alert(alert(severity="info"), None, [], night)
    morning = datetime(2025, 1, 16, 13, 0, tzinfo=UTC)  # 07:00 in Chicago
    assert {i.due_at for i in info.intents} == {morning}
    assert "quiet hours" in info.note
    assert info.state.notify_from == morning  # escalation counts from the deferred notice, not from 23:00
    critical = router.on_alert(alert(severity="critical"), None, [], night)
    assert {i.due_at for i in critical.intents} == {night}


def test_unconfigured_channels_are_skipped_and_reported() -> None:
    router = Router(RoutingConfig.from_dict(CONFIG), available=frozenset({"email"}))
    decision = router.on_alert(alert(), None, [], T0)
    assert targets(decision) == ["email"]
    assert router.skipped == {"webhook"}


def test_moot_notifications_are_cancelled_but_closing_ones_are_not() -> None:
    assert still_wanted("trigger", "open")
    assert not still_wanted("escalate", "acknowledged")
    assert not still_wanted("trigger", "resolved")
    assert still_wanted("resolve", "resolved")
    assert still_wanted("acknowledge", "acknowledged")


def test_retry_delay_grows_exponentially_up_to_a_cap() -> None:
    base, cap = timedelta(seconds=10), timedelta(minutes=10)
    assert [retry_delay(n, base, cap).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert retry_delay(50, base, cap) == cap


def test_incident_state_is_immutable() -> None:
    state = IncidentState("k", "r", "p", "open", "info", T0, T0)
    with pytest.raises(AttributeError):
        state.status = "resolved"  # type: ignore[misc]
