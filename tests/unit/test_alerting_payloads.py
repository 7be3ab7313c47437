"""What each channel sends, built without a network: shapes, escaping, signatures."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
from datetime import UTC, datetime
from email.message import EmailMessage

from alerting.channels import build_channels, pagerduty, slack, webhook
from alerting.channels import email as mail
from alerting.notification import Notification, Sample, headline
from infra.settings import Settings
from stream.schema import SpikeAlert

EVIL = "<script>alert(1)</script> & <!channel> <@U123>"


def notification(action: str = "trigger") -> Notification:
    alert = SpikeAlert(dedupe_key="sw:bags", kind="spike", brand="Southwest", category="baggage",
                       window_start="2025-01-15T14:50:00Z", window_end="2025-01-15T15:00:00Z", observed=48,
                       expected=6, score=9.5, detected_at="2025-01-15T15:00:00Z", severity="critical",
                       top_terms=["lost bag", EVIL])
    return Notification(delivery_key="7:r1-trigger-t0:webhook", action=action, incident_id=7, tier=0, address="",
                        alert=alert, opened_at=datetime(2025, 1, 15, 15, 0, tzinfo=UTC), updates=2,
                        console_link="http://c/oncall/alerts/7", ack_link="http://c/ack?t=1",
                        resolve_link="http://c/res?t=1", samples=(Sample(EVIL, "https://x/1", "@a"),))


def test_headline_says_what_how_much_and_how_loud() -> None:
    assert headline(notification()) == (
        "[CRITICAL] Negative mentions spike for Southwest / baggage: 48 vs 6 expected")
    assert headline(notification("escalate")).startswith("ESCALATED (tier 0, not acknowledged)")


def test_webhook_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert webhook.signature("k", "1700000000", body) == f"sha256={expected}"
    data = webhook.payload(notification())
    assert data["delivery_id"] == "7:r1-trigger-t0:webhook"
    assert data["links"]["acknowledge"] == "http://c/ack?t=1"
    assert data["alert"]["dedupe_key"] == "sw:bags"


def test_slack_escapes_mention_text_and_links_to_the_console() -> None:
    data = slack.payload(notification())
    flat = str(data)
    assert "<script>" not in flat and "<!channel>" not in flat and "<@U123>" not in flat
    assert "&lt;script&gt;" in flat
    buttons = next(b for b in data["blocks"] if b["type"] == "actions")["elements"]
    assert [b["url"] for b in buttons] == ["http://c/oncall/alerts/7", "http://c/ack?t=1", "http://c/res?t=1"]
    resolved = next(b for b in slack.payload(notification("resolve"))["blocks"] if b["type"] == "actions")
    assert len(resolved["elements"]) == 1  # no acknowledge button on a resolved notice


def test_email_has_text_and_html_parts_with_everything_escaped() -> None:
    msg = mail.message(notification(), "alerts@lc.example", ["oncall@lc.example"])
    parsed = email.message_from_bytes(msg.as_bytes(), _class=EmailMessage, policy=email.policy.default)
    html_part = parsed.get_body(("html",))
    text_part = parsed.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html_text = html_part.get_content()
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text
    assert EVIL in text_part.get_content()  # plain text is shown as text, not interpreted
    assert "\n" not in str(parsed["Subject"])
    assert parsed["Message-ID"] == mail.message(notification(), "alerts@lc.example", ["x"])["Message-ID"]


def test_pagerduty_events_v2_shape() -> None:
    trigger = pagerduty.payload(notification(), "RK")
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == "lc-7-sw:bags"
    assert trigger["payload"]["severity"] == "critical" and trigger["payload"]["source"] == "listening-center"
    assert trigger["links"][0]["href"] == "http://c/oncall/alerts/7"
    ack = pagerduty.payload(notification("acknowledge"), "RK")
    assert ack == {"routing_key": "RK", "event_action": "acknowledge", "dedup_key": "lc-7-sw:bags"}
    assert pagerduty.payload(notification("escalate"), "RK")["event_action"] == "trigger"


def test_channels_with_missing_settings_say_what_to_set() -> None:
    ready, missing = build_channels(Settings.from_env({}))
    assert not ready
    assert "LC_ALERT_WEBHOOK_URL" in missing["webhook"]
    assert "LC_ALERT_SLACK_WEBHOOK_URL" in missing["slack"]
    assert "LC_ALERT_SMTP_HOST" in missing["email"]
    assert "LC_ALERT_PAGERDUTY_ROUTING_KEY" in missing["pagerduty"]
    env = {"LC_ALERT_WEBHOOK_URL": "http://x", "LC_ALERT_WEBHOOK_SECRET": "s", "LC_ALERT_PAGERDUTY_ROUTING_KEY": "k"}
    ready, missing = build_channels(Settings.from_env(env))
    assert set(ready) == {"webhook", "pagerduty"}
