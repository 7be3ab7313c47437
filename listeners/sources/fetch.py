"""HTTP for the polling sources: 429 and Retry-After honoured, errors backed off, quota read from headers.

One `Fetcher` per source wraps an `httpx.Client`; the clock and sleep are injected so tests against a
local server never wait for real. What it sees (backoff, the last error, quota left) goes into the
source's `SourceState`, which the runner stores for `listening-center status`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from listeners.sources.base import Backoff, SourceState, parse_retry_after
from stream.schema import SchemaError, parse_time

Sleep = Callable[[float], None]
Now = Callable[[], datetime]


class FetchError(RuntimeError):
    """The platform refused for good (bad credentials, unknown feed) or kept failing past the retries."""


def quota_left(headers: Mapping[str, str]) -> int | None:
    """Requests left in the window: Mastodon's X-RateLimit-Remaining, Reddit's X-Ratelimit-Remaining (a float)."""
    value = headers.get("x-ratelimit-remaining")
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def quota_reset_in(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds until the quota refills: Reddit sends seconds, Mastodon an ISO time."""
    value = headers.get("x-ratelimit-reset")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parse_time(value) - now).total_seconds())
    except SchemaError:
        return None


class Fetcher:
    def __init__(self, client: httpx.Client, state: SourceState, sleep: Sleep, now: Now, *,
                 backoff: Backoff | None = None, max_tries: int = 8) -> None:
        self.client, self.state, self.sleep, self.now = client, state, sleep, now
        self.backoff = backoff or Backoff()
        self.max_tries = max_tries
        self._wait_before_next = 0.0

    def _wait(self, seconds: float, why: str) -> None:
        self.state.status = "backoff"
        self.state.last_error = why
        self.sleep(seconds)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self._wait_before_next > 0:
            wait, self._wait_before_next = self._wait_before_next, 0.0
            self._wait(wait, "quota used up; waiting for the window to reset")
        for _attempt in range(self.max_tries):
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                self._wait(self.backoff.next_delay(), f"{type(exc).__name__}: {exc} ({url})")
                continue
            if response.status_code == 429:
                retry_after = parse_retry_after(response.headers.get("retry-after"), self.now())
                if retry_after is None:
                    retry_after = quota_reset_in(response.headers, self.now())
                self._wait(self.backoff.next_delay(retry_after), f"429 Too Many Requests from {url}")
                continue
            if response.status_code >= 500:
                self._wait(self.backoff.next_delay(), f"{response.status_code} from {url}")
                continue
            if response.status_code >= 400 and response.status_code != 304:
                raise FetchError(f"{response.status_code} from {url}: {response.text[:200]}")
            self.backoff.reset()
            self.state.status = "running"
            left = quota_left(response.headers)
            if left is not None:
                self.state.quota_left = left
                if left <= 0:
                    self._wait_before_next = quota_reset_in(response.headers, self.now()) or 0.0
            return response
        raise FetchError(f"gave up on {url} after {self.max_tries} tries: {self.state.last_error}")

    def get_json(self, url: str, **kwargs: Any) -> Any:
        response = self.request("GET", url, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise FetchError(f"{url} did not answer JSON: {exc}") from None
