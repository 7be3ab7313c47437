"""Real local receivers for alert channel tests: an HTTP server that records (and can fail) and an SMTP
server (aiosmtpd) that keeps the mail it receives. Both listen on 127.0.0.1 with a free port."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers `fail_first` requests with 503, then 200; keeps the accepted ones and dedupes by key."""

    secret: str = ""
    fail_first: int = 0
    accepted: list[Received] = field(default_factory=list)
    refused: int = 0
    bad_signatures: int = 0
    seen_keys: set[str] = field(default_factory=set)
    duplicates: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, r: Received) -> bool:
        if not self.secret:
            return True
        expected = hmac.new(self.secret.encode(), r.headers.get("X-LC-Timestamp", "").encode() + b"." + r.body,
                            hashlib.sha256).hexdigest()
        return hmac.compare_digest(f"sha256={expected}", r.headers.get("X-LC-Signature", ""))

    def handle(self, r: Received) -> int:
        with self.lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                self.refused += 1
                return 503
            if not self.verify(r):
                self.bad_signatures += 1
                return 401
            key = r.headers.get("Idempotency-Key", "")
            if key and key in self.seen_keys:
                self.duplicates += 1
                return 200  # what a well-behaved receiver does with a repeat
            if key:
                self.seen_keys.add(key)
            self.accepted.append(r)
            return 202


@contextmanager
def http_receiver(receiver: Receiver) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.handle(Received(self.path, dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, _class=EmailMessage, policy=policy.default)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.tls.append(session.ssl is not None)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(mailbox: Mailbox, **kwargs: Any) -> Iterator[int]:
    # aiosmtpd's controller probes its own port after starting, so port 0 cannot be used: take a free one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
