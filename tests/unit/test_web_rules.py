"""Pure rules of the console: the queue's state machine, case limits/approval/states, SLA maths, the directory."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.unit.web_fixtures import T0
from web.directory import MemberImportError, parse_members
from web.queue_states import QueueState, TransitionError, transition
from web.recovery import (
    RuleError,
    compensation_value_cents,
    decide_approval,
    follow_up_state,
    initial_state,
    median,
    move,
    needs_approval,
    sla_status,
)

# --- the care queue -------------------------------------------------------------------------------------


def test_take_then_reply_then_resolve() -> None:
    s = transition(QueueState(), "take", 1, "agent")
    assert s == QueueState("taken", 1)
    s = transition(s, "reply", 1, "agent")
    assert s.state == "replied" and s.assignee_id == 1
    assert transition(s, "resolve", 1, "agent").state == "resolved"


def test_a_taken_mention_cannot_be_taken_or_worked_by_another_agent() -> None:
    taken = transition(QueueState(), "take", 1, "agent")
    with pytest.raises(TransitionError) as exc:
        transition(taken, "take", 2, "agent")
    assert exc.value.conflict
    with pytest.raises(TransitionError):
        transition(taken, "reply", 2, "agent")
    assert transition(taken, "release", 2, "supervisor") == QueueState()


def test_ignore_needs_a_reason_and_reopen_needs_a_supervisor() -> None:
    with pytest.raises(TransitionError, match="why"):
        transition(QueueState(), "ignore", 1, "agent", "  ")
    ignored = transition(QueueState(), "ignore", 1, "agent", "spam")
    assert ignored.state == "ignored" and ignored.reason == "spam"
    with pytest.raises(TransitionError):
        transition(ignored, "reopen", 1, "agent")
    assert transition(ignored, "reopen", 2, "supervisor").state == "new"


def test_resolved_cannot_be_replied_to() -> None:
    done = QueueState("resolved", 1)
    with pytest.raises(TransitionError, match="resolved"):
        transition(done, "reply", 1, "agent")


# --- compensation and approval ---------------------------------------------------------------------------


def test_points_and_money_are_valued_in_cents() -> None:
    assert compensation_value_cents("points", 2500) == 2500
    assert compensation_value_cents("voucher", 7500) == 7500
    assert compensation_value_cents("none", 999) == 0
    with pytest.raises(RuleError):
        compensation_value_cents("refund", -1)
    with pytest.raises(RuleError):
        compensation_value_cents("cash", 1)


@pytest.mark.parametrize(
    ("role", "cents", "state"),
    [
        ("agent", 5_000, "open"),
        ("agent", 5_001, "waiting_approval"),
        ("supervisor", 50_000, "open"),
        ("supervisor", 50_001, "waiting_approval"),
        ("agent", 0, "open"),
    ],
)
def test_each_role_grants_up_to_its_limit(role: str, cents: int, state: str) -> None:
    assert initial_state(role, cents) == state
    assert needs_approval(role, cents) == (state == "waiting_approval")


def test_approval_rules() -> None:
    assert decide_approval("waiting_approval", "supervisor", 20_000, approve=True) == "in_progress"
    with pytest.raises(RuleError, match="above your approval limit"):
        decide_approval("waiting_approval", "supervisor", 60_000, approve=True)
    with pytest.raises(RuleError):
        decide_approval("waiting_approval", "agent", 100, approve=True)
    with pytest.raises(RuleError, match="not waiting"):
        decide_approval("open", "supervisor", 100, approve=True)


def test_case_state_machine() -> None:
    assert move("open", "in_progress") == "in_progress"
    assert move("in_progress", "follow_up_due") == "follow_up_due"
    assert move("follow_up_due", "resolved", "won_back") == "resolved"
    with pytest.raises(RuleError, match="outcome"):
        move("in_progress", "resolved")
    with pytest.raises(RuleError, match="cannot go"):
        move("waiting_approval", "in_progress")  # only an approval decision leaves this state
    with pytest.raises(RuleError):
        move("open", "follow_up_due")


def test_follow_up_becomes_due_on_its_date() -> None:
    day = date(2025, 3, 10)
    assert follow_up_state("in_progress", day, day - timedelta(days=1)) == "in_progress"
    assert follow_up_state("in_progress", day, day) == "follow_up_due"
    assert follow_up_state("resolved", day, day) == "resolved"


# --- SLA maths with an injected clock ---------------------------------------------------------------------


def test_sla_deadlines_and_breaches_by_severity() -> None:
    fresh = sla_status("high", T0, T0 + timedelta(minutes=14))
    assert fresh.first_response_due == T0 + timedelta(minutes=15) and not fresh.breached
    late = sla_status("high", T0, T0 + timedelta(minutes=16))
    assert late.first_response_breached and not late.resolution_breached
    answered = sla_status("high", T0, T0 + timedelta(hours=30), first_response_at=T0 + timedelta(minutes=10))
    assert not answered.first_response_breached and answered.resolution_breached
    assert answered.first_response_seconds == 600


def test_sla_met_stays_met_whatever_the_clock_says_later() -> None:
    done = sla_status(
        "low",
        T0,
        T0 + timedelta(days=30),
        first_response_at=T0 + timedelta(hours=1),
        resolved_at=T0 + timedelta(days=2),
    )
    assert not done.breached and done.resolution_seconds == 2 * 86400


def test_median() -> None:
    assert median([]) is None
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == 2.5


# --- the loyalty directory -------------------------------------------------------------------------------


def test_csv_import_reads_good_rows() -> None:
    rows = parse_members("loyalty_id,name,tier,email\nab123456,Ana Diaz,Gold,ana@example.com\n")
    assert rows[0].loyalty_id == "AB123456" and rows[0].tier == "gold"


def test_csv_import_reports_every_bad_row_by_line_and_imports_nothing() -> None:
    text = (
        "loyalty_id,name,tier,email\nAB123456,Ana,gold,\nx!,Bob,gold,\nCD123456,,diamond,not-mail\n"
        "AB123456,Ana again,gold,\n"
    )
    with pytest.raises(MemberImportError) as exc:
        parse_members(text)
    problems = exc.value.problems
    assert any(p.startswith("line 3:") and "format" in p for p in problems)
    assert any(p.startswith("line 4:") and "tier" in p for p in problems)
    assert any(p.startswith("line 4:") and "email" in p for p in problems)
    assert any(p.startswith("line 5:") and "repeats line 2" in p for p in problems)


def test_csv_import_needs_its_columns_and_the_id_format_is_configurable() -> None:
    with pytest.raises(MemberImportError, match="missing column"):
        parse_members("id,name\n1,a\n")
    assert parse_members("loyalty_id,name,tier\nRR-1,A,member\n", pattern=r"RR-\d+")[0].loyalty_id == "RR-1"
