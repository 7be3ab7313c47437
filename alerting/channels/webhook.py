"""Generic webhook: the notification as JSON, signed so the receiver can trust it.

Headers: `X-LC-Timestamp` (Unix seconds) and `X-LC-Signature: sha256=<hex>`, the HMAC-SHA256 with the shared
secret of `<timestamp>.<body>` (the timestamp is signed so an old request cannot be replayed later), and
`Idempotency-Key`, the delivery key, identical on every retry: a receiver that stores it sees each
notification once even when the alerter had to send it twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from alerting.channels import http
from alerting.notification import Notification, facts, headline
from infra.settings import Settings

NAME = "webhook"


def payload(n: Notification) -> dict[str, Any]:
    return {
        "delivery_id": n.delivery_key,
        "action": n.action,
        "text": headline(n),
        "incident": {"id": n.incident_id, "key": n.incident_key, "tier": n.tier, "updates": n.updates,
                     "opened_at": n.opened_at.isoformat()},
        "alert": n.alert.to_dict(),
        "facts": dict(facts(n)),
        "samples": [{"text": s.text, "url": s.url, "author": s.author} for s in n.samples],
        "links": {"console": n.console_link, "acknowledge": n.ack_link, "resolve": n.resolve_link},
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


@dataclass
class WebhookChannel:
    url: str
    secret: str
    timeout: float = 5.0
    tries: int = 3
    backoff_seconds: float = 0.5
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    name: str = NAME
    _client: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._client = http.client(self.timeout)

    def send(self, notification: Notification) -> None:
        body = json.dumps(payload(notification), ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            "X-LC-Timestamp": timestamp,
            "X-LC-Signature": signature(self.secret, timestamp, body),
            "Idempotency-Key": notification.delivery_key,
        }
        http.post(self._client, self.url, body, headers, tries=self.tries, backoff_seconds=self.backoff_seconds,
                  sleep=self.sleep)


def from_settings(settings: Settings) -> WebhookChannel | str:
    if not settings.alert_webhook_url:
        return "set LC_ALERT_WEBHOOK_URL (and LC_ALERT_WEBHOOK_SECRET) to enable it"
    if not settings.alert_webhook_secret:
        return "LC_ALERT_WEBHOOK_SECRET is empty: unsigned webhooks are refused"
    return WebhookChannel(settings.alert_webhook_url, settings.alert_webhook_secret,
                          timeout=settings.alert_timeout_seconds, tries=settings.alert_send_tries)
