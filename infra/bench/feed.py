"""The console's live feed as a browser sees it: the bench reads the SSE stream of a real console process
and notes when each mention id first shows up.

`SseParser` is pure (lines in, events out) so the framing is tested without a server; `FeedReader` is the
thin thread that reads `/feed/stream` over HTTP and feeds it. The time is taken when a line is read,
before the event is decoded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str


class SseParser:
    """Server-sent events framing: `field: value` lines, an event ends at a blank line, `:` is a comment."""

    def __init__(self) -> None:
        self._event = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> SseEvent | None:
        if not line:
            if not self._data:
                self._event = "message"
                return None
            done = SseEvent(self._event, "\n".join(self._data))
            self._event, self._data = "message", []
            return done
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None

    def events(self, lines: Iterable[str]) -> Iterator[SseEvent]:
        for line in lines:
            event = self.feed(line)
            if event is not None:
                yield event


def mention_id(event: SseEvent) -> str | None:
    """The id of the mention a `mention` event carries (a ScoredMention as JSON); None for anything else."""
    if event.event != "mention":
        return None
    try:
        mid = json.loads(event.data)["mention"]["id"]
    except (ValueError, KeyError, TypeError):
        return None
    return mid if isinstance(mid, str) else None


def wait_port(port_file: Path, timeout: float, alive: object = None) -> int:
    """The console's port once it has written it (it migrates its database first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_file.exists():
            return int(port_file.read_text())
        if callable(alive):
            alive()
        time.sleep(0.2)
    raise TimeoutError(f"the console wrote no port to {port_file} within {timeout:.0f}s")


def wait_feed_ready(base_url: str, timeout: float) -> None:
    """Until /healthz says the console's Kafka consumer is assigned and reading."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=5).json()["feed"]["consumer"] == "ready":
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the console's feed consumer was not ready within {timeout:.0f}s")


class FeedReader:
    """Reads one SSE connection in a thread; `seen` maps mention id to the first time it was read."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: dict[str, float] = {}
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._open = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-reader", daemon=True)

    def start(self, timeout: float = 30.0) -> FeedReader:
        self._thread.start()
        if not self._open.wait(timeout) or self.error is not None:
            raise RuntimeError(f"could not open the live feed {self.url}: {self.error}")
        return self

    def _run(self) -> None:
        parser = SseParser()
        try:
            with httpx.stream("GET", self.url, timeout=httpx.Timeout(10.0, read=None),
                              headers={"Accept": "text/event-stream"}) as resp:
                resp.raise_for_status()
                self._open.set()
                for line in resp.iter_lines():
                    now = time.perf_counter()
                    event = parser.feed(line)
                    if event is not None and (mid := mention_id(event)) is not None:
                        self.seen.setdefault(mid, now)
                    if self._stop.is_set():
                        return
        except BaseException as exc:  # reported by the phase that reads `seen`
            self.error = exc
            self._open.set()

    def stop(self) -> None:
        # The stream ends with the console process (stopped by the phase); the heartbeat wakes the thread.
        self._stop.set()
