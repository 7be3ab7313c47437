"""Replies to a mention: templates with placeholders, and the platform interface that sends them.

Sending goes through a `ReplySender`; without platform credentials the console uses `ByHand`, which
records the reply as "to send by hand" (the page offers a copy button). A Mastodon sender plugs in here.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template
from typing import Protocol

MAX_REPLY = 500  # the shortest limit of the platforms we answer on (Mastodon's default)

TEMPLATES = {
    "sorry": "Hi $handle, we're sorry about this. Please send us a DM with your confirmation number and we'll help.",
    "delay": "Hi $handle, sorry for the delay today. We're checking your flight now and will update you here.",
    "thanks": "Thank you, $handle! We'll pass your kind words to the crew.",
}


def render_template(key: str, handle: str) -> str:
    """The handle is the only value filled in; safe_substitute never raises on a stray $ and the result
    is plain text that pages escape like any other."""
    return Template(TEMPLATES[key]).safe_substitute(handle="@" + handle.lstrip("@"))


def check_reply(text: str) -> str | None:
    if not text.strip():
        return "write the reply first"
    if len(text) > MAX_REPLY:
        return f"the reply has {len(text)} characters; the limit is {MAX_REPLY}"
    return None


@dataclass(frozen=True)
class SendResult:
    status: str  # sent | to_send_by_hand
    reference: str = ""  # the platform's id of the reply, when sent


class ReplySender(Protocol):
    def send(self, platform: str, in_reply_to_url: str, text: str) -> SendResult: ...


class ByHand:
    def send(self, platform: str, in_reply_to_url: str, text: str) -> SendResult:
        return SendResult("to_send_by_hand")
