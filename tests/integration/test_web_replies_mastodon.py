"""Replies through Mastodon's API, against a local HTTP server that speaks the two endpoints we use."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.unit.web_fixtures import add_user, login, make_app, scored, state
from web.replies import MastodonSender


class FakeMastodon(BaseHTTPRequestHandler):
    calls: list[tuple[str, str, dict[str, Any], dict[str, str]]] = []
    refuse_posts = False

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.calls.append(("GET", url.path, query, dict(self.headers)))
        found = [{"id": "10999"}] if query.get("q") == "https://remote.example/@ana/42" else []
        self._reply(200, {"statuses": found, "accounts": [], "hashtags": []})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(("POST", self.path, body, dict(self.headers)))
        if self.refuse_posts:
            self._reply(422, {"error": "Validation failed"})
            return
        self._reply(200, {"id": "11000", "url": "https://our.example/@care/11000"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mastodon() -> Iterator[str]:
    FakeMastodon.calls = []
    FakeMastodon.refuse_posts = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMastodon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_reply_is_posted_in_reply_to_the_resolved_status(mastodon: str) -> None:
    sender = MastodonSender(mastodon, "tok-123")
    result = sender.send("mastodon", "https://remote.example/@ana/42", "Hi @ana, sorry!")
    assert (result.status, result.reference) == ("sent", "https://our.example/@care/11000")
    (_, path, query, headers), (_, post_path, body, post_headers) = FakeMastodon.calls
    assert path == "/api/v2/search" and query["resolve"] == "true"
    assert headers["Authorization"] == "Bearer tok-123"
    assert post_path == "/api/v1/statuses"
    assert body == {"status": "Hi @ana, sorry!", "in_reply_to_id": "10999"}
    assert len(post_headers["Idempotency-Key"]) == 64


def test_failures_leave_the_reply_to_send_by_hand_with_the_reason(mastodon: str) -> None:
    sender = MastodonSender(mastodon, "tok")
    missing = sender.send("mastodon", "https://remote.example/@ana/404", "hi")
    assert missing.status == "to_send_by_hand" and "not found" in missing.reference
    FakeMastodon.refuse_posts = True
    refused = sender.send("mastodon", "https://remote.example/@ana/42", "hi")
    assert refused.status == "to_send_by_hand" and "422" in refused.reference
    other = sender.send("bluesky", "https://bsky.app/x", "hi")
    assert other.status == "to_send_by_hand" and other.reference == ""


def test_console_reply_goes_out_through_mastodon(mastodon: str, tmp_path: Path) -> None:
    app = make_app(tmp_path, REPLY_SENDER=MastodonSender(mastodon, "tok"))
    add_user(app, "ana", "agent")
    post = scored("mastodon:42", handle="@ana")
    post.mention.url = "https://remote.example/@ana/42"
    state(app).hub.publish(post)
    client = app.test_client()
    token = login(client, "ana")
    client.post("/mentions/mastodon:42/take", json={}, headers={"X-CSRFToken": token})
    resp = client.post("/mentions/mastodon:42/send-reply", json={"text": "Hi @ana"}, headers={"X-CSRFToken": token})
    assert resp.get_json()["reply_status"] == "sent"
    assert FakeMastodon.calls[-1][2] == {"status": "Hi @ana", "in_reply_to_id": "10999"}
