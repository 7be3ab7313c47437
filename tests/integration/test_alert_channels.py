"""Each alert channel against a real local receiver: HTTP servers that verify signatures and can fail,
and a real SMTP server (aiosmtpd), plain and with STARTTLS."""

from __future__ import annotations

import dataclasses
import shutil
import ssl
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alerting.channels.email import EmailChannel
from alerting.channels.pagerduty import PagerDutyChannel
from alerting.channels.slack import SlackChannel
from alerting.channels.webhook import WebhookChannel
from alerting.notification import ChannelError, Notification, Sample
from stream.schema import SpikeAlert
from tests.integration.alert_servers import Mailbox, Receiver, http_receiver, smtp_server

EVIL = "<img src=x onerror=alert(1)> & <!channel>"


def notification(action: str = "trigger", key: str = "1:r1-trigger-t0:webhook") -> Notification:
    alert = SpikeAlert(dedupe_key="sw:bags", kind="spike", brand="Southwest", category="baggage",
                       window_start="2025-01-15T14:50:00Z", window_end="2025-01-15T15:00:00Z", observed=48,
                       expected=6, score=9.5, detected_at="2025-01-15T15:00:00Z", severity="critical",
                       top_terms=["lost bag", "carousel"])
    return Notification(delivery_key=key, action=action, incident_id=1, tier=0, address="", alert=alert,
                        opened_at=datetime(2025, 1, 15, 15, 0, tzinfo=UTC), updates=0,
                        console_link="http://console/oncall/alerts/1", ack_link="http://console/ack",
                        resolve_link="http://console/resolve", samples=(Sample(EVIL, "https://x/1"),))


def no_sleep(_seconds: float) -> None:
    pass


def test_webhook_is_signed_and_received() -> None:
    receiver = Receiver(secret="hook-secret")
    with http_receiver(receiver) as url:
        WebhookChannel(url, "hook-secret", timeout=2).send(notification())
    assert receiver.bad_signatures == 0
    (got,) = receiver.accepted
    assert got.headers["Idempotency-Key"] == "1:r1-trigger-t0:webhook"
    assert got.json()["alert"]["dedupe_key"] == "sw:bags"
    assert got.json()["samples"][0]["text"] == EVIL  # JSON carries the text as data, unchanged


def test_a_wrong_secret_is_rejected_by_the_receiver_and_not_retried() -> None:
    receiver = Receiver(secret="hook-secret")
    with http_receiver(receiver) as url, pytest.raises(ChannelError) as err:
        WebhookChannel(url, "not-the-secret", timeout=2, sleep=no_sleep).send(notification())
    assert not err.value.retryable
    assert receiver.bad_signatures == 1 and not receiver.accepted


def test_a_failing_server_that_recovers_gets_the_alert_once() -> None:
    receiver = Receiver(secret="s", fail_first=2)
    waits: list[float] = []
    with http_receiver(receiver) as url:
        WebhookChannel(url, "s", timeout=2, tries=3, backoff_seconds=0.5, sleep=waits.append).send(notification())
    assert receiver.refused == 2 and len(receiver.accepted) == 1 and receiver.duplicates == 0
    assert waits == [0.5, 1.0]  # backoff doubles


def test_a_server_down_longer_than_the_tries_fails_retryably_and_the_repeat_is_recognised() -> None:
    receiver = Receiver(secret="s", fail_first=3)
    channel = WebhookChannel("", "s", timeout=2, tries=3, sleep=no_sleep)
    with http_receiver(receiver) as url:
        channel.url = url
        with pytest.raises(ChannelError) as err:
            channel.send(notification())
        assert err.value.retryable
        channel.send(notification())  # the outbox's later retry: same delivery key
        channel.send(notification())  # a repeat after a crash mid-send
    assert len(receiver.accepted) == 1 and receiver.duplicates == 1


def test_an_unreachable_server_is_a_retryable_error() -> None:
    with http_receiver(Receiver()) as url:
        pass  # closed again: nothing listens there now
    with pytest.raises(ChannelError, match="could not reach") as err:
        WebhookChannel(url, "s", timeout=1, tries=2, sleep=no_sleep).send(notification())
    assert err.value.retryable


def test_slack_blocks_arrive_escaped_with_console_links() -> None:
    receiver = Receiver()
    with http_receiver(receiver) as url:
        SlackChannel(url, timeout=2).send(notification())
    body = receiver.accepted[0].json()
    text = str(body)
    assert "<img" not in text and "<!channel>" not in text and "&lt;img" in text
    assert any(b["type"] == "actions" for b in body["blocks"])
    assert "http://console/oncall/alerts/1" in text


def test_pagerduty_trigger_then_resolve_share_the_dedup_key() -> None:
    receiver = Receiver()
    with http_receiver(receiver) as url:
        channel = PagerDutyChannel("routing-key", url, timeout=2)
        channel.send(notification("trigger"))
        channel.send(notification("resolve", key="1:r1-resolve:pagerduty"))
    trigger, resolve = (r.json() for r in receiver.accepted)
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == "lc-1-sw:bags"
    assert trigger["routing_key"] == "routing-key" and trigger["payload"]["severity"] == "critical"


def test_email_arrives_with_text_and_escaped_html() -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        EmailChannel("127.0.0.1", port, "alerts@lc.test", ("oncall@lc.test",), timeout=5).send(notification())
    (msg,) = mailbox.messages
    assert mailbox.envelopes == [("alerts@lc.test", ["oncall@lc.test"])]
    html_part, text_part = msg.get_body(("html",)), msg.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html = html_part.get_content()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert EVIL in text_part.get_content()
    assert "http://console/ack" in text_part.get_content()


def test_email_to_an_address_named_by_the_route() -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        n = dataclasses.replace(notification(), address="boss@lc.test")
        EmailChannel("127.0.0.1", port, "alerts@lc.test", ("oncall@lc.test",), timeout=5).send(n)
    assert mailbox.envelopes == [("alerts@lc.test", ["boss@lc.test"])]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test certificate")
def test_email_over_starttls(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    with smtp_server(mailbox, tls_context=context, require_starttls=True) as port:
        plain = EmailChannel("127.0.0.1", port, "alerts@lc.test", ("oncall@lc.test",), timeout=5)
        with pytest.raises(ChannelError):
            plain.send(notification())  # the server insists on STARTTLS
        EmailChannel("127.0.0.1", port, "alerts@lc.test", ("oncall@lc.test",), starttls=True, cafile=str(cert),
                     timeout=5).send(notification())
    assert mailbox.tls == [True]
