"""PagerDuty Events API v2: trigger, acknowledge and resolve one PagerDuty incident per our incident.

The `dedup_key` is our incident's key, so a repeated trigger (a retry, an escalation) updates the same
PagerDuty incident instead of paging twice, and acknowledge/resolve close the right one.
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

NAME = "pagerduty"
EVENT_ACTION = {"trigger": "trigger", "escalate": "trigger", "update": "trigger",
                "acknowledge": "acknowledge", "resolve": "resolve"}


def payload(n: Notification, routing_key: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": EVENT_ACTION[n.action],
        "dedup_key": n.incident_key,
    }
    if event["event_action"] != "trigger":
        return event
    a = n.alert
    event["payload"] = {
        "summary": headline(n)[:1024],
        "source": "listening-center",
        "severity": a.severity,  # info | warning | critical are all valid PagerDuty severities
        "timestamp": a.detected_at,
        "component": a.brand,
        "group": a.category or "all",
        "class": a.kind,
        "custom_details": {**dict(facts(n)), "samples": [s.text for s in n.samples[:3]]},
    }
    event["links"] = [{"href": n.console_link, "text": "Open in the listening center"}]
    event["client"] = "Listening Center"
    event["client_url"] = n.console_link
    return event


@dataclass
class PagerDutyChannel:
    routing_key: str
    url: str = "https://events.pagerduty.com/v2/enqueue"
    timeout: float = 5.0
    tries: int = 3
    backoff_seconds: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    name: str = NAME
    _client: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._client = http.client(self.timeout)

    def send(self, notification: Notification) -> None:
        body = json.dumps(payload(notification, self.routing_key), ensure_ascii=False).encode()
        http.post(self._client, self.url, body, {"Content-Type": "application/json"}, tries=self.tries,
                  backoff_seconds=self.backoff_seconds, sleep=self.sleep)


def from_settings(settings: Settings) -> PagerDutyChannel | str:
    if not settings.alert_pagerduty_routing_key:
        return "set LC_ALERT_PAGERDUTY_ROUTING_KEY (and LC_ALERT_PAGERDUTY_URL for a compatible service)"
    return PagerDutyChannel(settings.alert_pagerduty_routing_key, settings.alert_pagerduty_url,
                            timeout=settings.alert_timeout_seconds, tries=settings.alert_send_tries)
