"""What a channel is asked to send, and the wording every channel shares (pure).

Channels turn a `Notification` into their own payload; the words (headline, numbers, links) come from
here so an alert reads the same in Slack, a mail and a page. Mention text is untrusted: each channel
escapes it for its own format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from stream.schema import SpikeAlert


class ChannelError(Exception):
    """A delivery failed; `retryable` says whether trying again later can help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Sample:
    text: str
    url: str = ""
    author: str = ""


@dataclass(frozen=True)
class Notification:
    delivery_key: str  # stable across retries and restarts: receivers that dedupe use it
    action: str  # trigger | escalate | update | acknowledge | resolve
    incident_id: int
    tier: int
    address: str  # "" = the channel's default recipient
    alert: SpikeAlert  # the latest alert grouped into the incident
    opened_at: datetime
    updates: int
    console_link: str
    ack_link: str = ""
    resolve_link: str = ""
    samples: tuple[Sample, ...] = field(default_factory=tuple)

    @property
    def incident_key(self) -> str:
        """One key per incident (not per alert key): a re-alert after a real resolution is a new incident."""
        return f"lc-{self.incident_id}-{self.alert.dedupe_key}"[:255]


class Channel(Protocol):
    name: str

    def send(self, notification: Notification) -> None:
        """Deliver or raise ChannelError."""


def headline(n: Notification) -> str:
    a = n.alert
    what = "Negative mentions spike" if a.kind == "spike" else "Mentions went silent"
    scope = f"{a.brand} / {a.category}" if a.category else a.brand
    prefix = {
        "trigger": "",
        "escalate": f"ESCALATED (tier {n.tier}, not acknowledged): ",
        "update": "UPDATE: ",
        "acknowledge": "Acknowledged: ",
        "resolve": "Resolved: ",
    }.get(n.action, "")
    return f"{prefix}[{a.severity.upper()}] {what} for {scope}: {a.observed:g} vs {a.expected:g} expected"


def facts(n: Notification) -> list[tuple[str, str]]:
    """Label/value pairs every channel shows, in this order."""
    a = n.alert
    ratio = f"{a.observed / a.expected:.1f}x" if a.expected else "n/a"
    rows = [
        ("Brand", a.brand),
        ("Category", a.category or "all"),
        ("Observed", f"{a.observed:g} (expected {a.expected:g}, {ratio})"),
        ("Score", f"{a.score:.2f}"),
        ("Window", f"{a.window_start} to {a.window_end}"),
        ("Incident", f"#{n.incident_id}, key {a.dedupe_key}, {n.updates} update(s)"),
    ]
    if a.top_terms:
        rows.append(("Top terms", ", ".join(a.top_terms[:10])))
    return rows
