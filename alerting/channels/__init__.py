"""One module per notification channel; `build_channels` picks the configured ones from Settings."""

from __future__ import annotations

from alerting.notification import Channel
from infra.settings import Settings


def build_channels(settings: Settings) -> tuple[dict[str, Channel], dict[str, str]]:
    """The channels whose settings are complete, and for the others why not (said once, at start)."""
    from alerting.channels import email, pagerduty, slack, webhook

    ready: dict[str, Channel] = {}
    missing: dict[str, str] = {}
    for module in (webhook, slack, email, pagerduty):
        channel = module.from_settings(settings)
        if isinstance(channel, str):
            missing[module.NAME] = channel
        else:
            ready[module.NAME] = channel
    return ready, missing
