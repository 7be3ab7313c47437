"""A local webhook receiver for the incident stage: notes when each alert notification arrives.

It answers 202 at once, as an on-call tool's intake would, so the figure is the alerter's delivery, not
a slow receiver. The time is `time.perf_counter()` in the bench process, like every other bench figure.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    def __init__(self) -> None:
        self.received: list[tuple[float, Any]] = []  # (arrival, decoded body)
        self._lock = threading.Lock()
        self.arrived = threading.Event()

    def record(self, at: float, body: bytes) -> None:
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = None
        with self._lock:
            self.received.append((at, payload))
        self.arrived.set()

    def first(self, action: str = "trigger") -> tuple[float, Any] | None:
        """The first notification with this action (the alerter's `trigger` opens an incident)."""
        with self._lock:
            for at, payload in self.received:
                if isinstance(payload, dict) and payload.get("action") == action:
                    return at, payload
        return None

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Listens on 127.0.0.1 with a free port; yields the URL to give the alerter."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.record(at, body)
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the bench prints its own table
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/hook"
        finally:
            server.shutdown()
            server.server_close()
