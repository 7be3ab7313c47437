"""Pure alert routing: which people hear about an incident, when, and how loudly.

No I/O and no wall clock: every decision takes `now` and the incident's current state and returns the new
state plus delivery intents. The consumer persists both in the outbox; the delivery loop sends them.

Rules of an incident (one per `dedupe_key` at a time):
- the first `open`/`update` alert opens it and notifies tier 0 of the route's escalation policy;
- later alerts with the same key are grouped into it silently, unless the severity rises (one `update`);
- quiet hours defer the first notification of low severities to the end of the quiet period;
- not acknowledged `after` minutes past the first notification -> the next tier is notified (`escalate`);
- acknowledged -> escalation stops; resolved -> the channels that were told hear that it is over;
- a key that re-opens within `cooldown` of its resolution re-opens the same incident, and its notification
  waits until the cooldown ends (it is cancelled if the incident resolves again before): flapping is quiet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from stream.schema import SpikeAlert

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
DEFAULT_ROUTES = Path(__file__).with_name("routes.yaml")
# Channels that understand "someone is on it"; telling the others would be one more notification to read.
ACK_CHANNELS = frozenset({"pagerduty"})
NOTIFY_ACTIONS = frozenset({"trigger", "escalate", "update"})


class RoutingError(ValueError):
    """The routing file is wrong; the message says where."""


@dataclass(frozen=True)
class Target:
    """A channel, optionally with an address that overrides the channel's default (e.g. an email)."""

    channel: str
    address: str = ""

    @classmethod
    def parse(cls, text: str) -> Target:
        channel, _, address = text.partition(":")
        if not channel.strip():
            raise RoutingError(f"target {text!r}: empty channel name")
        return cls(channel.strip(), address.strip())

    def __str__(self) -> str:
        return f"{self.channel}:{self.address}" if self.address else self.channel


@dataclass(frozen=True)
class Tier:
    after: timedelta  # since the first notification
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class DailyWindow:
    """A time-of-day interval in the routing time zone; `start > end` wraps past midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> DailyWindow:
        try:
            start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError as exc:
            raise RoutingError(f"time window {text!r}: expected HH:MM-HH:MM") from exc
        return cls(start, end)

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def end_after(self, local: datetime) -> datetime:
        """The first end of this window at or after `local` (an aware local time inside the window)."""
        candidate = datetime.combine(local.date(), self.end, tzinfo=local.tzinfo)
        if candidate < local:
            candidate = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=local.tzinfo)
        return candidate


@dataclass(frozen=True)
class Route:
    name: str
    policy: str
    brands: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    severities: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    hours: DailyWindow | None = None

    def matches(self, alert: SpikeAlert, local_now: datetime) -> bool:
        def ok(allowed: frozenset[str] | None, value: str | None) -> bool:
            return allowed is None or (value or "").lower() in allowed

        return (
            ok(self.brands, alert.brand)
            and ok(self.categories, alert.category)
            and ok(self.severities, alert.severity)
            and ok(self.kinds, alert.kind)
            and (self.hours is None or self.hours.contains(local_now.time()))
        )


@dataclass(frozen=True)
class QuietHours:
    window: DailyWindow
    severities: frozenset[str]


@dataclass(frozen=True)
class RoutingConfig:
    timezone: ZoneInfo
    cooldown: timedelta
    quiet_hours: QuietHours | None
    policies: Mapping[str, tuple[Tier, ...]]
    routes: tuple[Route, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> RoutingConfig:
        source = path or DEFAULT_ROUTES
        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise RoutingError(f"{source}: {exc}") from exc
        try:
            return cls.from_dict(data)
        except RoutingError as exc:
            raise RoutingError(f"{source}: {exc}") from exc

    @classmethod
    def from_dict(cls, data: Any) -> RoutingConfig:
        if not isinstance(data, dict):
            raise RoutingError("expected a mapping at the top")
        known = {"timezone", "cooldown_minutes", "quiet_hours", "policies", "routes"}
        if unknown := set(data) - known:
            raise RoutingError(f"unknown keys {sorted(unknown)}; expected {sorted(known)}")
        try:
            tz = ZoneInfo(str(data.get("timezone", "UTC")))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise RoutingError(f"timezone {data.get('timezone')!r}: unknown") from exc
        quiet = None
        if (q := data.get("quiet_hours")) is not None:
            if not isinstance(q, dict) or "hours" not in q:
                raise RoutingError("quiet_hours: expected {hours: 'HH:MM-HH:MM', severities: [...]}")
            quiet = QuietHours(DailyWindow.parse(str(q["hours"])), _severities(q.get("severities", ["info"])))
        policies = {str(name): _tiers(str(name), tiers) for name, tiers in _mapping(data, "policies").items()}
        routes_raw = data.get("routes")
        if not isinstance(routes_raw, list) or not routes_raw:
            raise RoutingError("routes: expected a non-empty list")
        routes = tuple(_route(i, r, policies) for i, r in enumerate(routes_raw))
        last = routes[-1]
        if any(v is not None for v in (last.brands, last.categories, last.severities, last.kinds, last.hours)):
            # Without a catch-all an alert could match nothing and reach nobody: refuse such a file.
            raise RoutingError(f"routes: the last route ({last.name!r}) must match everything (no 'match')")
        return cls(tz, timedelta(minutes=float(data.get("cooldown_minutes", 30))), quiet, policies, routes)

    def route_for(self, alert: SpikeAlert, now: datetime) -> Route:
        local = now.astimezone(self.timezone)
        return next(r for r in self.routes if r.matches(alert, local))

    def channels(self) -> set[str]:
        return {t.channel for tiers in self.policies.values() for tier in tiers for t in tier.targets}


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict) or not value:
        raise RoutingError(f"{key}: expected a non-empty mapping")
    return value


def _severities(values: Any) -> frozenset[str]:
    items = frozenset(str(v).lower() for v in _as_list(values))
    if bad := items - SEVERITY_RANK.keys():
        raise RoutingError(f"unknown severities {sorted(bad)}; expected {sorted(SEVERITY_RANK)}")
    return items


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _tiers(name: str, raw: Any) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or not raw:
        raise RoutingError(f"policy {name!r}: expected a non-empty list of tiers")
    tiers: list[Tier] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("targets"):
            raise RoutingError(f"policy {name!r} tier {i}: expected {{after_minutes: N, targets: [...]}}")
        after = timedelta(minutes=float(item.get("after_minutes", 0)))
        if i == 0 and after:
            raise RoutingError(f"policy {name!r}: the first tier is notified at once (after_minutes: 0)")
        if tiers and after <= tiers[-1].after:
            raise RoutingError(f"policy {name!r} tier {i}: after_minutes must grow from tier to tier")
        tiers.append(Tier(after, tuple(Target.parse(str(t)) for t in _as_list(item["targets"]))))
    return tuple(tiers)


def _route(i: int, raw: Any, policies: Mapping[str, tuple[Tier, ...]]) -> Route:
    if not isinstance(raw, dict):
        raise RoutingError(f"routes[{i}]: expected a mapping")
    name = str(raw.get("name", f"route-{i}"))
    policy = str(raw.get("policy", ""))
    if policy not in policies:
        raise RoutingError(f"route {name!r}: unknown policy {policy!r}")
    match = raw.get("match") or {}
    if unknown := set(match) - {"brand", "category", "severity", "kind", "hours"}:
        raise RoutingError(f"route {name!r}: unknown match keys {sorted(unknown)}")

    def values(key: str) -> frozenset[str] | None:
        return frozenset(str(v).lower() for v in _as_list(match[key])) if key in match else None

    return Route(
        name=name,
        policy=policy,
        brands=values("brand"),
        categories=values("category"),
        severities=_severities(match["severity"]) if "severity" in match else None,
        kinds=values("kind"),
        hours=DailyWindow.parse(str(match["hours"])) if "hours" in match else None,
    )


@dataclass(frozen=True)
class IncidentState:
    """What the router needs to remember about an incident; the outbox stores it in the incidents table."""

    dedupe_key: str
    route: str
    policy: str
    status: str  # open | acknowledged | resolved
    severity: str
    opened_at: datetime
    notify_from: datetime  # when tier 0 is (or was) due; escalation counts from here
    tier: int = 0  # the highest tier notified (or planned)
    round: int = 1  # bumped when a resolved incident re-opens
    updates: int = 0  # alerts grouped into this incident after the first
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class Intent:
    """One notification to send: the outbox turns it into a delivery row keyed by `slug` and target."""

    target: Target
    action: str  # trigger | escalate | update | acknowledge | resolve
    tier: int
    due_at: datetime
    slug: str  # unique within the incident; with the target it makes the delivery's idempotency key


@dataclass(frozen=True)
class Decision:
    state: IncidentState
    intents: tuple[Intent, ...] = ()
    new_incident: bool = False
    note: str = ""


@dataclass
class Router:
    config: RoutingConfig
    available: frozenset[str] | None = None  # configured channels; None = all
    skipped: set[str] = field(default_factory=set)  # channels named by a route but not configured

    def _targets(self, policy: str, tier: int) -> list[Target]:
        tiers = self.config.policies.get(policy, ())  # a policy removed from the file reaches nobody
        if tier >= len(tiers):
            return []
        targets = list(tiers[tier].targets)
        if self.available is None:
            return targets
        self.skipped.update(t.channel for t in targets if t.channel not in self.available)
        return [t for t in targets if t.channel in self.available]

    def _first_due(self, severity: str, now: datetime) -> datetime:
        quiet = self.config.quiet_hours
        local = now.astimezone(self.config.timezone)
        if quiet and severity in quiet.severities and quiet.window.contains(local.time()):
            return quiet.window.end_after(local).astimezone(UTC)
        return now

    def _tier0(self, state: IncidentState) -> tuple[Intent, ...]:
        slug = f"r{state.round}-trigger-t0"
        return tuple(
            Intent(t, "trigger", 0, state.notify_from, slug) for t in self._targets(state.policy, 0)
        )

    def on_alert(
        self, alert: SpikeAlert, current: IncidentState | None, notified: Sequence[Target], now: datetime
    ) -> Decision:
        if alert.status == "resolved":
            if current is not None and current.status != "resolved":
                return self.on_resolve(current, notified, now)
            return Decision(current or _orphan(alert, now), new_incident=current is None,
                            note="resolved alert for no open incident")

        if current is not None and current.status == "resolved":
            assert current.resolved_at is not None
            quiet_until = current.resolved_at + self.config.cooldown
            if now < quiet_until:
                state = replace(
                    current,
                    status="open",
                    severity=alert.severity,
                    notify_from=self._first_due(alert.severity, quiet_until),
                    tier=0,
                    round=current.round + 1,
                    updates=current.updates + 1,
                    resolved_at=None,
                )
                return Decision(state, self._tier0(state), note="re-opened within cooldown: notice deferred")
            current = None

        if current is None:
            route = self.config.route_for(alert, now)
            state = IncidentState(
                dedupe_key=alert.dedupe_key,
                route=route.name,
                policy=route.policy,
                status="open",
                severity=alert.severity,
                opened_at=now,
                notify_from=self._first_due(alert.severity, now),
            )
            deferred = " (deferred: quiet hours)" if state.notify_from > now else ""
            return Decision(state, self._tier0(state), new_incident=True, note=f"opened via {route.name}{deferred}")

        louder = SEVERITY_RANK[alert.severity] > SEVERITY_RANK[current.severity]
        state = replace(
            current,
            updates=current.updates + 1,
            severity=alert.severity if louder else current.severity,
        )
        if louder and current.status == "open" and notified:
            slug = f"r{state.round}-update-{state.updates}"
            intents = tuple(Intent(t, "update", state.tier, now, slug) for t in _unique(notified))
            return Decision(state, intents, note=f"severity rose to {alert.severity}")
        return Decision(state, note="grouped into the open incident")

    def on_tick(self, state: IncidentState, now: datetime) -> Decision:
        """Escalate an unacknowledged incident through every tier whose time has come."""
        if state.status != "open":
            return Decision(state)
        tiers = self.config.policies.get(state.policy, ())
        intents: list[Intent] = []
        while state.tier + 1 < len(tiers) and now >= state.notify_from + tiers[state.tier + 1].after:
            state = replace(state, tier=state.tier + 1)
            slug = f"r{state.round}-escalate-t{state.tier}"
            intents += [Intent(t, "escalate", state.tier, now, slug) for t in self._targets(state.policy, state.tier)]
        note = f"escalated to tier {state.tier}" if intents or state.tier else ""
        return Decision(state, tuple(intents), note=note)

    def next_tick(self, state: IncidentState) -> datetime | None:
        tiers = self.config.policies.get(state.policy, ())
        if state.status != "open" or state.tier + 1 >= len(tiers):
            return None
        return state.notify_from + tiers[state.tier + 1].after

    def on_acknowledge(self, state: IncidentState, notified: Sequence[Target], now: datetime) -> Decision:
        return acknowledge(state, notified, now)

    def on_resolve(self, state: IncidentState, notified: Sequence[Target], now: datetime) -> Decision:
        return resolve(state, notified, now)


def acknowledge(state: IncidentState, notified: Sequence[Target], now: datetime) -> Decision:
    """Someone is on it: escalation stops; channels that track acknowledgement are told."""
    if state.status != "open":
        return Decision(state, note=f"already {state.status}")
    new = replace(state, status="acknowledged")
    slug = f"r{state.round}-acknowledge"
    intents = tuple(Intent(t, "acknowledge", state.tier, now, slug) for t in _unique(notified)
                    if t.channel in ACK_CHANNELS)
    return Decision(new, intents, note="acknowledged: escalation stopped")


def resolve(state: IncidentState, notified: Sequence[Target], now: datetime) -> Decision:
    """Over: everyone who was told it started is told it ended (nobody else)."""
    if state.status == "resolved":
        return Decision(state, note="already resolved")
    new = replace(state, status="resolved", resolved_at=now)
    slug = f"r{state.round}-resolve"
    return Decision(new, tuple(Intent(t, "resolve", state.tier, now, slug) for t in _unique(notified)),
                    note="resolved")


def _orphan(alert: SpikeAlert, now: datetime) -> IncidentState:
    # A `resolved` whose `open` we never saw (retention, a new deployment): keep it, tell nobody.
    return IncidentState(alert.dedupe_key, "", "", "resolved", alert.severity, now, now, resolved_at=now)


def _unique(targets: Iterable[Target]) -> list[Target]:
    return list(dict.fromkeys(targets))


def still_wanted(action: str, incident_status: str) -> bool:
    """A planned notification that the incident has overtaken (acked or resolved before it was due) is moot."""
    if action in NOTIFY_ACTIONS:
        return incident_status == "open"
    return True


def retry_delay(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """Exponential backoff after `attempts` failed attempts (1 -> base, 2 -> 2*base, ...), at most `cap`."""
    delay: timedelta = base * (2 ** min(max(attempts - 1, 0), 30))
    return min(delay, cap)

