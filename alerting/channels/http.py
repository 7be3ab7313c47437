"""POST with a timeout and a few quick retries, shared by the HTTP channels (webhook, Slack, PagerDuty).

These retries ride out a blip (a restart behind a load balancer); longer outages are the outbox's job,
which tries again later with a growing delay until the delivery succeeds or is marked dead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import httpx

from alerting.notification import ChannelError

RETRYABLE_STATUS = frozenset({408, 425, 429})


def post(
    client: httpx.Client,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tries: int,
    backoff_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    error = ChannelError("no attempt made")
    for attempt in range(1, max(tries, 1) + 1):
        try:
            response = client.post(url, content=body, headers=dict(headers))
        except httpx.TimeoutException as exc:
            error = ChannelError(f"timed out: {exc}")
        except httpx.TransportError as exc:
            error = ChannelError(f"could not reach {httpx.URL(url).host}: {exc}")
        else:
            if response.is_success:
                return response
            retryable = response.status_code >= 500 or response.status_code in RETRYABLE_STATUS
            error = ChannelError(f"HTTP {response.status_code}: {response.text[:200]}", retryable=retryable)
            if not retryable:
                raise error
        if attempt < tries:
            sleep(backoff_seconds * 2 ** (attempt - 1))
    raise error


def client(timeout: float) -> httpx.Client:
    return httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": "listening-center-alerter"})
