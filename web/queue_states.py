"""The care queue's state machine, pure: new -> taken -> replied -> resolved, or ignored (with a reason).

Only the agent who took a mention works it, so two agents never answer the same customer; a supervisor
may act on anyone's mention (to release one left by an agent who went home).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

STATES = ("new", "taken", "replied", "resolved", "ignored")
ACTIONS = ("take", "release", "reply", "resolve", "ignore", "reopen")
SUPERVISING = frozenset({"supervisor", "admin"})

# action -> (states it may start from, resulting state)
_RULES: dict[str, tuple[frozenset[str], str]] = {
    "take": (frozenset({"new"}), "taken"),
    "release": (frozenset({"taken"}), "new"),
    "reply": (frozenset({"taken", "replied"}), "replied"),
    "resolve": (frozenset({"taken", "replied"}), "resolved"),
    "ignore": (frozenset({"new", "taken"}), "ignored"),
    "reopen": (frozenset({"resolved", "ignored"}), "new"),
}


class TransitionError(ValueError):
    def __init__(self, message: str, conflict: bool = False) -> None:
        super().__init__(message)
        self.conflict = conflict  # someone else holds it: the UI shows "taken by X", not a form error


@dataclass(frozen=True)
class QueueState:
    state: str = "new"
    assignee_id: int | None = None
    reason: str = ""


def assign(current: QueueState, actor_role: str, assignee_id: int) -> QueueState:
    """A supervisor hands a mention to an agent (new, or taken by someone else): it is taken by that agent."""
    if actor_role not in SUPERVISING:
        raise TransitionError("only a supervisor can assign a mention to someone")
    if current.state not in ("new", "taken"):
        raise TransitionError(f"cannot assign a mention that is {current.state}")
    return QueueState("taken", assignee_id, "")


def transition(current: QueueState, action: str, actor_id: int, actor_role: str, reason: str = "") -> QueueState:
    if action not in _RULES:
        raise TransitionError(f"unknown action {action!r}")
    sources, target = _RULES[action]
    supervising = actor_role in SUPERVISING
    if current.state not in sources:
        if action == "take" and current.state == "taken":
            raise TransitionError("someone else took this mention already", conflict=True)
        raise TransitionError(f"cannot {action} a mention that is {current.state}")
    if action == "reopen" and not supervising:
        raise TransitionError("only a supervisor can reopen a mention")
    held_by_other = current.assignee_id is not None and current.assignee_id != actor_id
    if action != "take" and current.state == "taken" and held_by_other and not supervising:
        raise TransitionError("another agent holds this mention", conflict=True)
    if action in ("reply", "resolve") and current.state == "replied" and held_by_other and not supervising:
        raise TransitionError("another agent holds this mention", conflict=True)
    if action == "ignore" and not reason.strip():
        raise TransitionError("say why the mention is ignored")
    if target == "new":
        return QueueState("new", None, "")
    assignee = actor_id if action == "take" or current.assignee_id is None else current.assignee_id
    if action == "ignore":
        return replace(current, state="ignored", reason=reason.strip(), assignee_id=assignee)
    return QueueState(target, assignee, "")
