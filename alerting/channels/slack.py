"""Slack-compatible incoming webhook: Block Kit message with the facts, samples and console links.

Slack reads `&`, `<` and `>` as markup (links, mentions such as <!channel>), so every piece of alert and
mention text is escaped before it goes into mrkdwn; the link buttons carry URLs we built ourselves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from alerting.channels import http
from alerting.notification import Notification, facts, headline
from infra.settings import Settings

NAME = "slack"
MAX_SAMPLE_CHARS = 280


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(n: Notification) -> dict[str, Any]:
    title = headline(n)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*{label}*\n{escape(value)}"} for label, value in facts(n)[:10]
        ]},
    ]
    if n.samples:
        quoted = "\n".join(f"> {escape(s.text[:MAX_SAMPLE_CHARS])}" for s in n.samples[:3])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Sample mentions*\n{quoted}"}})
    buttons = [("Open in console", n.console_link)]
    if n.action in {"trigger", "escalate", "update"}:  # acting on an acked/resolved incident is moot
        buttons += [("Acknowledge", n.ack_link), ("Resolve", n.resolve_link)]
    blocks.append({"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}
        for label, url in buttons if url
    ]})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": escape(f"incident #{n.incident_id} · key {n.alert.dedupe_key} · tier {n.tier}")}
    ]})
    # `text` is the notification/fallback line; Slack shows the blocks.
    return {"text": escape(title), "blocks": blocks}


@dataclass
class SlackChannel:
    url: str
    timeout: float = 5.0
    tries: int = 3
    backoff_seconds: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    name: str = NAME
    _client: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._client = http.client(self.timeout)

    def send(self, notification: Notification) -> None:
        body = json.dumps(payload(notification), ensure_ascii=False).encode()
        http.post(self._client, self.url, body, {"Content-Type": "application/json"}, tries=self.tries,
                  backoff_seconds=self.backoff_seconds, sleep=self.sleep)


def from_settings(settings: Settings) -> SlackChannel | str:
    if not settings.alert_slack_webhook_url:
        return "set LC_ALERT_SLACK_WEBHOOK_URL to enable it"
    return SlackChannel(settings.alert_slack_webhook_url, timeout=settings.alert_timeout_seconds,
                        tries=settings.alert_send_tries)
