"""Service recovery rules, pure: compensation limits and approval, the case state machine, SLA timers.

Everything takes the time it needs as an argument, so the rules are tested with any clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

CATEGORIES = ("delay", "cancellation", "baggage", "refund", "booking", "staff", "loyalty", "other")
SEVERITIES = ("low", "medium", "high")
COMPENSATION_KINDS = ("none", "points", "voucher", "refund")
OUTCOMES = ("won_back", "satisfied", "unsatisfied", "no_reply")
STATES = ("open", "waiting_approval", "in_progress", "follow_up_due", "resolved")

# What each role may grant on its own, in cents of value; above it a supervisor (or admin) approves.
COMPENSATION_LIMITS_CENTS = {"agent": 5_000, "supervisor": 50_000, "admin": 50_000, "marketing": 0, "oncall": 0}
POINT_VALUE_CENTS = 1  # 100 points are worth one dollar
MAX_COMPENSATION_CENTS = 500_000  # anything above is a typo, not a gesture

# Severity -> (first response, resolution): how long the customer may wait.
SLA = {
    "high": (timedelta(minutes=15), timedelta(hours=24)),
    "medium": (timedelta(hours=1), timedelta(hours=72)),
    "low": (timedelta(hours=4), timedelta(days=7)),
}

# state -> states it may move to (by hand; approval moves are done by decide_approval)
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "resolved"}),
    "waiting_approval": frozenset(),
    "in_progress": frozenset({"follow_up_due", "resolved"}),
    "follow_up_due": frozenset({"in_progress", "resolved"}),
    "resolved": frozenset({"in_progress"}),  # reopened when the customer comes back
}


class RuleError(ValueError):
    pass


def compensation_value_cents(kind: str, amount: int) -> int:
    """Points are counted in points, vouchers and refunds in cents."""
    if kind not in COMPENSATION_KINDS:
        raise RuleError(f"unknown compensation kind {kind!r}")
    if amount < 0:
        raise RuleError("compensation cannot be negative")
    if kind == "none":
        return 0
    value = amount * POINT_VALUE_CENTS if kind == "points" else amount
    if value > MAX_COMPENSATION_CENTS:
        raise RuleError(f"compensation worth more than {MAX_COMPENSATION_CENTS / 100:.0f} is not allowed here")
    return value


def limit_for(role: str) -> int:
    return COMPENSATION_LIMITS_CENTS.get(role, 0)


def needs_approval(role: str, value_cents: int) -> bool:
    return value_cents > limit_for(role)


def initial_state(role: str, value_cents: int) -> str:
    return "waiting_approval" if needs_approval(role, value_cents) else "open"


def can_approve(role: str, value_cents: int) -> bool:
    return role in ("supervisor", "admin") and value_cents <= limit_for(role)


def decide_approval(state: str, approver_role: str, value_cents: int, approve: bool) -> str:
    """Approved: work starts. Refused: work starts too, without the compensation (the caller clears it)."""
    if state != "waiting_approval":
        raise RuleError("this case is not waiting for approval")
    if approve and not can_approve(approver_role, value_cents):
        raise RuleError("this compensation is above your approval limit")
    if not approve and approver_role not in ("supervisor", "admin"):
        raise RuleError("only a supervisor can refuse a compensation")
    return "in_progress"


def move(state: str, target: str, outcome: str = "") -> str:
    if target not in STATES:
        raise RuleError(f"unknown state {target!r}")
    if target not in TRANSITIONS.get(state, frozenset()):
        raise RuleError(f"a case cannot go from {state.replace('_', ' ')} to {target.replace('_', ' ')}")
    if target == "resolved" and outcome not in OUTCOMES:
        raise RuleError(f"a resolved case needs an outcome: one of {', '.join(OUTCOMES)}")
    return target


def follow_up_state(state: str, follow_up_on: date | None, today: date) -> str:
    """A case in progress whose follow-up date has come is due: shown on the agent's follow-up list."""
    if state == "in_progress" and follow_up_on is not None and follow_up_on <= today:
        return "follow_up_due"
    return state


@dataclass(frozen=True)
class SlaStatus:
    first_response_due: datetime
    resolution_due: datetime
    first_response_breached: bool
    resolution_breached: bool
    first_response_seconds: float | None  # how long the first response took, once given
    resolution_seconds: float | None

    @property
    def breached(self) -> bool:
        return self.first_response_breached or self.resolution_breached


def sla_status(
    severity: str,
    opened_at: datetime,
    now: datetime,
    first_response_at: datetime | None = None,
    resolved_at: datetime | None = None,
) -> SlaStatus:
    """A timer is breached when its deadline passed before the event, or passed with no event yet.
    Time waiting for approval counts: the customer waits all the same."""
    if severity not in SLA:
        raise RuleError(f"unknown severity {severity!r}")
    respond_in, resolve_in = SLA[severity]
    respond_due, resolve_due = opened_at + respond_in, opened_at + resolve_in
    return SlaStatus(
        first_response_due=respond_due,
        resolution_due=resolve_due,
        first_response_breached=(first_response_at or now) > respond_due,
        resolution_breached=(resolved_at or now) > resolve_due,
        first_response_seconds=(first_response_at - opened_at).total_seconds() if first_response_at else None,
        resolution_seconds=(resolved_at - opened_at).total_seconds() if resolved_at else None,
    )


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())
