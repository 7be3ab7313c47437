"""Replies to a mention: templates with placeholders, and the platform interface that sends them.

Sending goes through a `ReplySender`; without platform credentials the console uses `ByHand`, which
records the reply as "to send by hand" (the page offers a copy button). A Mastodon sender plugs in here.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from string import Template
from typing import Protocol

import httpx

log = logging.getLogger(__name__)

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


class MastodonSender:
    """Replies on Mastodon with the configured account: the post is looked up on our instance by its URL
    (resolve=true fetches a remote post), then answered with in_reply_to_id. Any failure falls back to
    "to send by hand" with the reason, so an agent's reply is never lost."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {token}"})
        self.fallback = ByHand()

    def send(self, platform: str, in_reply_to_url: str, text: str) -> SendResult:
        if platform != "mastodon" or not in_reply_to_url:
            return self.fallback.send(platform, in_reply_to_url, text)
        try:
            found = self.client.get(
                f"{self.base_url}/api/v2/search",
                params={"q": in_reply_to_url, "type": "statuses", "resolve": "true", "limit": "1"},
            )
            found.raise_for_status()
            statuses = found.json().get("statuses") or []
            if not statuses:
                raise ValueError("the post was not found on our instance")
            # Idempotency-Key: a retried click does not post the same reply twice.
            key = hashlib.sha256(f"{in_reply_to_url}\n{text}".encode()).hexdigest()
            posted = self.client.post(
                f"{self.base_url}/api/v1/statuses",
                json={"status": text, "in_reply_to_id": statuses[0]["id"]},
                headers={"Idempotency-Key": key},
            )
            posted.raise_for_status()
            return SendResult("sent", str(posted.json().get("url") or posted.json().get("id") or ""))
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            log.warning("mastodon reply failed, left to send by hand: %s", exc)
            return SendResult("to_send_by_hand", f"not sent: {exc}"[:300])


def sender_for(mastodon_url: str, mastodon_token: str) -> ReplySender:
    if mastodon_url and mastodon_token:
        return MastodonSender(mastodon_url, mastodon_token)
    return ByHand()
