"""Email over SMTP (STARTTLS when configured): a plain-text part and an HTML part.

Every piece of alert and mention text goes through `html.escape` in the HTML part; the subject has line
breaks removed so nothing can inject a header. The Message-ID is derived from the delivery key, so a mail
re-sent after a crash carries the same ID and mail clients that dedupe by ID show it once.
"""

from __future__ import annotations

import hashlib
import html
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from alerting.notification import ChannelError, Notification, facts, headline
from infra.settings import Settings

NAME = "email"
MAX_SAMPLE_CHARS = 500


def _one_line(text: str) -> str:
    return " ".join(text.split())


def text_body(n: Notification) -> str:
    lines = [headline(n), ""]
    lines += [f"{label}: {value}" for label, value in facts(n)]
    if n.samples:
        lines += ["", "Sample mentions:"]
        lines += [f"  - {_one_line(s.text[:MAX_SAMPLE_CHARS])}" + (f" ({s.url})" if s.url else "") for s in n.samples]
    lines += ["", f"Open in the console: {n.console_link}"]
    if n.action in {"trigger", "escalate", "update"}:
        if n.ack_link:
            lines.append(f"Acknowledge: {n.ack_link}")
        if n.resolve_link:
            lines.append(f"Resolve: {n.resolve_link}")
    return "\n".join(lines) + "\n"


def html_body(n: Notification) -> str:
    e = html.escape
    rows = "".join(f"<tr><th align='left'>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in facts(n))
    samples = "".join(
        f"<li>{e(s.text[:MAX_SAMPLE_CHARS])}" + (f" <a href='{e(s.url)}'>link</a>" if s.url else "") + "</li>"
        for s in n.samples
    )
    links = [("Open in the console", n.console_link)]
    if n.action in {"trigger", "escalate", "update"}:
        links += [("Acknowledge", n.ack_link), ("Resolve", n.resolve_link)]
    actions = " | ".join(f"<a href='{e(url)}'>{e(label)}</a>" for label, url in links if url)
    return (
        "<!doctype html><html><body>"
        f"<h2>{e(headline(n))}</h2><table>{rows}</table>"
        + (f"<h3>Sample mentions</h3><ul>{samples}</ul>" if samples else "")
        + f"<p>{actions}</p></body></html>"
    )


def message(n: Notification, sender: str, recipients: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = _one_line(headline(n))[:200]
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    domain = sender.rpartition("@")[2] or "listening-center"
    msg["Message-ID"] = f"<{hashlib.sha256(n.delivery_key.encode()).hexdigest()[:32]}@{domain}>"
    msg["X-LC-Delivery"] = n.delivery_key
    msg.set_content(text_body(n))
    msg.add_alternative(html_body(n), subtype="html")
    return msg


@dataclass
class EmailChannel:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...] = ()
    user: str = ""
    password: str = ""
    starttls: bool = False
    cafile: str = ""
    timeout: float = 10.0
    name: str = NAME

    def send(self, notification: Notification) -> None:
        to = [notification.address] if notification.address else list(self.recipients)
        if not to:
            raise ChannelError("no recipient: set LC_ALERT_EMAIL_TO or name one in the route", retryable=False)
        msg = message(notification, self.sender, to)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.cafile or None))
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(f"recipients refused: {exc.recipients}", retryable=False) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelError(f"SMTP login refused: {exc.smtp_code}", retryable=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP {self.host}:{self.port}: {exc}") from exc


def from_settings(settings: Settings) -> EmailChannel | str:
    if not settings.alert_smtp_host or not settings.alert_email_from:
        return "set LC_ALERT_SMTP_HOST and LC_ALERT_EMAIL_FROM (and LC_ALERT_EMAIL_TO) to enable it"
    recipients = tuple(a.strip() for a in settings.alert_email_to.split(",") if a.strip())
    return EmailChannel(settings.alert_smtp_host, settings.alert_smtp_port, settings.alert_email_from, recipients,
                        user=settings.alert_smtp_user, password=settings.alert_smtp_password,
                        starttls=settings.alert_smtp_starttls, cafile=settings.alert_smtp_cafile,
                        timeout=max(settings.alert_timeout_seconds, 10.0))
