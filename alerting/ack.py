"""Signed, expiring acknowledge/resolve links for notifications (pure; the console verifies them).

A token is `<payload>.<signature>`: the payload is base64url JSON {i: incident id, a: action, e: expiry as
Unix seconds}, the signature is HMAC-SHA256 over the payload with `settings.secret_key`. Anyone holding a
valid link can act on that one incident until it expires, which is what a link in a page or mail is for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

ACTIONS = ("acknowledge", "resolve")
LINK_PATH = "/oncall/alerts/act"  # the console route that verifies the token and calls incidents.*


class AckError(ValueError):
    """The token is malformed, forged or expired."""


@dataclass(frozen=True)
class AckClaim:
    incident_id: int
    action: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    if not secret:
        raise AckError("no secret key configured (LC_SECRET_KEY)")
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def make_token(secret: str, incident_id: int, action: str, now: datetime, ttl: timedelta) -> str:
    if action not in ACTIONS:
        raise ValueError(f"action {action!r} is not one of {ACTIONS}")
    expires = int((now + ttl).timestamp())
    payload = _b64(json.dumps({"i": incident_id, "a": action, "e": expires}, separators=(",", ":")).encode())
    return f"{payload}.{_sign(secret, payload)}"


def verify_token(secret: str, token: str, now: datetime) -> AckClaim:
    payload, sep, signature = token.partition(".")
    if not sep or not payload or not signature:
        raise AckError("malformed token")
    # compare_digest: the time to reject must not tell an attacker how much of the signature was right.
    if not hmac.compare_digest(_sign(secret, payload), signature):
        raise AckError("bad signature")
    try:
        data = json.loads(_unb64(payload))
        claim = AckClaim(int(data["i"]), str(data["a"]), datetime.fromtimestamp(int(data["e"]), UTC))
    except (ValueError, KeyError, TypeError) as exc:
        raise AckError("malformed payload") from exc
    if claim.action not in ACTIONS:
        raise AckError(f"unknown action {claim.action!r}")
    if now >= claim.expires_at:
        raise AckError("link expired")
    return claim


def action_url(console_url: str, token: str) -> str:
    return f"{console_url.rstrip('/')}{LINK_PATH}?token={quote(token)}"


def incident_url(console_url: str, incident_id: int) -> str:
    return f"{console_url.rstrip('/')}/oncall/alerts/{incident_id}"
