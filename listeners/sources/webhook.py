"""Webhook source: other tools push mentions as JSON over HTTP, signed with HMAC-SHA256.

`POST /mentions` with `X-Signature-256: sha256=<hex HMAC of the raw body>`; the body is one mention
object, a list of them, or `{"mentions": [...]}` (fields as in replay: id, text, created_at, author...).
A request is all or nothing: every item is validated before any is sent, and the answer (202) comes
only after Kafka acknowledged them, so a caller that gets a 4xx or 5xx may simply retry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
from collections import Counter
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from listeners.sources.base import Batch, Item, normalise
from listeners.sources.replay import row_to_mention

PLATFORM = "webhook"
PATH = "/mentions"
SIGNATURE_HEADER = "X-Signature-256"
MAX_BODY = 1_000_000
MAX_ITEMS = 1_000


class Rejected(Exception):
    """A request we answer with `status` and `reason` (said to the caller, so it can fix it)."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(secret: str, body: bytes, header: str | None) -> None:
    if not header:
        raise Rejected(HTTPStatus.UNAUTHORIZED, f"missing {SIGNATURE_HEADER} header (sha256=<hex HMAC>)")
    if not hmac.compare_digest(sign(secret, body), header.strip()):
        raise Rejected(HTTPStatus.UNAUTHORIZED, f"{SIGNATURE_HEADER} does not match the body")


def parse_body(body: bytes, content_type: str | None) -> list[Item]:
    """Every item as a valid mention, or Rejected naming the first bad one: nothing is half-accepted."""
    if (content_type or "").split(";")[0].strip().lower() != "application/json":
        raise Rejected(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json")
    try:
        data: Any = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: JSON errors, and ints over 4,300 digits
        raise Rejected(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {exc}") from None
    except RecursionError:  # `[[[[...` thousands deep: found by the fuzz test, it killed the request thread
        raise Rejected(HTTPStatus.BAD_REQUEST, "body is not valid JSON: nested too deeply") from None
    if isinstance(data, dict) and "mentions" in data:
        data = data["mentions"]
    rows = data if isinstance(data, list) else [data]
    if not rows:
        raise Rejected(HTTPStatus.BAD_REQUEST, "no mentions in the body")
    if len(rows) > MAX_ITEMS:
        raise Rejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"{len(rows)} mentions, at most {MAX_ITEMS}")
    items = []
    for i, row in enumerate(rows):
        item = normalise(lambda r: row_to_mention(r, source=PLATFORM), row)
        if item.error:
            raise Rejected(HTTPStatus.UNPROCESSABLE_ENTITY, f"mention [{i}]: {item.error}")
        items.append(item)
    return items


class _Pending:
    """A request waiting for the runner to send its batch and Kafka to acknowledge it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: Exception | None = None
        self.outcomes: list[str] = []

    def finish(self, error: Exception | None, outcomes: list[str]) -> None:
        self.error, self.outcomes = error, outcomes
        self.done.set()


class WebhookSource:
    name = PLATFORM

    def __init__(self, host: str, port: int, secret: str, *, ack_timeout: float = 30.0,
                 idle_seconds: float = 0.5) -> None:
        self.secret, self.ack_timeout, self.idle_seconds = secret, ack_timeout, idle_seconds
        self.queue: queue.Queue[Batch] = queue.Queue()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{PATH}"

    def accept(self, body: bytes, content_type: str | None, signature: str | None) -> tuple[HTTPStatus, dict[str, Any]]:
        """Check, queue for the runner, wait for Kafka: the whole request, minus the HTTP plumbing."""
        try:
            check_signature(self.secret, body, signature)
            items = parse_body(body, content_type)
        except Rejected as exc:
            return exc.status, {"error": exc.reason}
        pending = _Pending()
        self.queue.put(Batch(items, on_done=pending.finish))
        if not pending.done.wait(self.ack_timeout):
            return HTTPStatus.SERVICE_UNAVAILABLE, {"error": "not acknowledged by Kafka in time; retry"}
        if pending.error is not None:
            return HTTPStatus.SERVICE_UNAVAILABLE, {"error": f"not acknowledged by Kafka: {pending.error}"}
        counts = Counter(pending.outcomes)
        return HTTPStatus.ACCEPTED, {"accepted": len(items), **{k.replace("-", "_"): v for k, v in counts.items()}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        source = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: HTTPStatus, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/healthz":
                    self._answer(HTTPStatus.OK, {"status": "ok"})
                else:
                    self._answer(HTTPStatus.NOT_FOUND, {"error": f"POST mentions to {PATH}"})

            def do_POST(self) -> None:
                if self.path != PATH:
                    self._answer(HTTPStatus.NOT_FOUND, {"error": f"POST mentions to {PATH}"})
                    return
                length = self.headers.get("Content-Length")
                if length is None or not (length.isascii() and length.isdigit()):  # "²".isdigit() is True
                    self._answer(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length is required"})
                    return
                if int(length) > MAX_BODY:
                    self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"body over {MAX_BODY} bytes"})
                    return
                body = self.rfile.read(int(length))
                status, answer = source.accept(body, self.headers.get("Content-Type"),
                                               self.headers.get(SIGNATURE_HEADER))
                self._answer(status, answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the runner's state and counters say what matters; no line per request

        return Handler

    def batches(self, cursors: dict[str, str]) -> Iterator[Batch]:
        # No cursor: a pushed request is answered only once acknowledged, so the caller holds the retry.
        thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="webhook-http")
        thread.start()
        try:
            while True:
                try:
                    yield self.queue.get(timeout=self.idle_seconds)
                except queue.Empty:
                    yield Batch([])  # lets the runner look at its stop flag while no one pushes
        finally:
            self.server.shutdown()
            self.server.server_close()
