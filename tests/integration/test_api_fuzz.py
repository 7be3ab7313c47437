"""Fuzzed requests at the two HTTP doors: the console's JSON API (schemathesis, from web/openapi.yaml, logged
in, against the real Elasticsearch) never answers 5xx; the webhook listener answers every request, signed or
not, with 2xx or a 4xx that says why, and keeps serving."""

from __future__ import annotations

import dataclasses
import http.client
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.settings import Settings
from listeners.sources.webhook import MAX_BODY, SIGNATURE_HEADER, WebhookSource, sign
from stream import es_admin
from tests.integration.search_data import load, make_console, make_docs
from tests.unit.web_fixtures import add_user, login

pytestmark = pytest.mark.integration
SECRET = "fuzz-secret"
AGENT = "lc-fuzz"


@pytest.fixture(scope="module")
def console(engines: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """A console over a small real index, and the session cookie of a logged-in admin (every route allowed)."""
    indexed = dataclasses.replace(engines, index_prefix=f"t{uuid.uuid4().hex[:8]}")
    load(indexed, make_docs(300))
    app = make_console(indexed, tmp_path_factory.mktemp("console"))
    add_user(app, "ada", "admin")
    # "strong" binds the session to the client's address and agent, which schemathesis' WSGI client sets its own
    # way; "basic" still checks the session, and what is fuzzed here is the request handling behind it.
    app.login_manager.session_protection = "basic"  # type: ignore[attr-defined]
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = AGENT  # the session is bound to it (session_protection "strong")
    login(client, "ada")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    yield app, f"{cookie.key}={cookie.value}"
    es_admin.delete_prefix(es_admin.client(indexed.es_url), indexed.index_prefix)


@pytest.fixture(scope="module")
def api_schema(console: tuple[Flask, str]) -> Any:
    # The description is read through a logged-in client (it is behind the login like the rest of /api/), and
    # the cases are called on the same WSGI app, with the session cookie.
    app, cookie = console
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = AGENT
    client.set_cookie(*cookie.split("=", 1))
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200, resp.status_code
    loaded = schemathesis.openapi.from_dict(resp.get_json())
    loaded.app = app
    return loaded


# Driven through hypothesis directly: schemathesis' own pytest integration reads a private attribute that
# pytest 9 no longer has.
PATHS = ["/api/search", "/api/authors/{handle}/mentions", "/api/analytics/{view}", "/api/export/mentions.csv",
         "/api/export/{view}.csv", "/api/openapi.json"]


@pytest.mark.parametrize("path", PATHS)
def test_no_api_request_is_a_server_error(api_schema: Any, console: tuple[Flask, str], path: str) -> None:
    name, value = console[1].split("=", 1)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=api_schema[path]["GET"].as_strategy())
    def check(case: Any) -> None:
        response = case.call(cookies={name: value}, headers={"User-Agent": AGENT})
        assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
        assert response.status_code != 401  # the session held: the fuzz reached the views
        if response.status_code == 400:
            assert response.json()["error"]  # a sentence, not an empty refusal

    check()


# What a schema-driven generator does not try: values that pass a naive check (str.isdigit) and then fail.
ODD = ["size=²", "size=" + "9" * 5000, "priority_min=1e999", "priority_max=nan", "since=²", "until=9999-99-99",
       "after=²²", "after=" + "A" * 10_000, "interval=²", "q=" + "(" * 3000, "q=" + '"' * 999, "brand=" + "%00" * 50,
       "sentiment=" + "x," * 500, "linked=maybe", "sort=" + "\u202e"]


@pytest.mark.parametrize("route", ["/api/search", "/api/analytics/brands", "/api/analytics/terms",
                                   "/api/authors/%E2%80%AE/mentions", "/api/export/mentions.csv"])
def test_odd_values_are_clear_refusals_not_crashes(console: tuple[Flask, str], route: str) -> None:
    client = console[0].test_client()
    client.environ_base["HTTP_USER_AGENT"] = AGENT
    client.set_cookie(*console[1].split("=", 1))
    for query in ODD:
        resp = client.get(f"{route}?{query}")
        assert resp.status_code in (200, 400), (route, query[:40], resp.status_code)
        if resp.status_code == 400:
            assert resp.get_json()["error"]


def test_the_description_is_served_and_names_every_api_route(console: tuple[Flask, str]) -> None:
    app, _ = console
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = AGENT
    client.set_cookie(*console[1].split("=", 1))
    spec = client.get("/api/openapi.json").get_json()
    assert app.test_client().get("/api/openapi.json").status_code == 401  # like the rest of /api/
    assert spec["openapi"].startswith("3.")
    routes = {r.rule.replace("<path:handle>", "{handle}").replace("<any(brands, categories, terms, authors):view>",
                                                                   "{view}")
              for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert routes == set(spec["paths"])


# ---------------------------------------------------------------------------------------------- webhook


@pytest.fixture(scope="module")
def webhook() -> Iterator[WebhookSource]:
    """The real webhook source on a free port; a runner stand-in acknowledges every batch at once."""
    source = WebhookSource("127.0.0.1", 0, SECRET, ack_timeout=5)
    stop = threading.Event()

    def run() -> None:
        for batch in source.batches({}):
            if batch.on_done:
                batch.on_done(None, ["sent"] * len(batch.items))
            if stop.is_set():
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield source
    stop.set()
    thread.join(5)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
mention_like = st.fixed_dictionaries(
    {"id": json_values, "text": json_values, "created_at": st.sampled_from(["2026-11-20T10:00:00Z", "yesterday"])},
    optional={"author": json_values, "author_followers": json_values, "platform": json_values,
              "topics": json_values, "brand": json_values},
)
bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.lists(mention_like, max_size=3).map(lambda v: json.dumps({"mentions": v}).encode())
    | mention_like.map(lambda v: json.dumps(v).encode())
    | st.sampled_from([b"[" * 5_000, b'{"id": 1' + b"1" * 5_000 + b"}", b"[]", b"{}", b"null"])
)
ANSWERS = {202, 400, 401, 413, 415, 422}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies, signed=st.booleans(), content_type=st.sampled_from(["application/json", "text/plain", None]))
def test_webhook_answers_any_body_with_a_clear_status(webhook: WebhookSource, body: bytes, signed: bool,
                                                       content_type: str | None) -> None:
    status, answer = webhook.accept(body, content_type, sign(SECRET, body) if signed else "sha256=00")
    assert int(status) in ANSWERS, (status, answer)
    assert ("accepted" in answer) if status == 202 else answer["error"]


def post(source: WebhookSource, path: str, headers: dict[str, str], body: bytes) -> int:
    host, port = source.server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
    try:
        conn.putrequest("POST", path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(body)
        return conn.getresponse().status
    finally:
        conn.close()


header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x10FFFF, exclude_categories=["Cs"]),
                      max_size=12).map(lambda s: s.encode("utf-8").decode("latin-1"))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(length=header_text | st.sampled_from(["", "-1", "²", "0x10", str(MAX_BODY + 1), "99999999999999999999"]),
       content_type=header_text | st.just("application/json"), path=st.sampled_from(["/mentions", "/x", "/"]))
def test_webhook_over_http_answers_odd_headers_and_keeps_serving(
    webhook: WebhookSource, length: str, content_type: str, path: str
) -> None:
    body = b'{"id": "1", "text": "hi", "created_at": "2026-11-20T10:00:00Z"}'
    try:
        status = post(webhook, path, {"Content-Length": length, "Content-Type": content_type,
                                      SIGNATURE_HEADER: sign(SECRET, body)}, body)
    except (http.client.HTTPException, OSError):
        status = 0  # the server may close a request whose length it cannot trust; it must still serve the next
    assert status == 0 or status < 500, status
    good = post(webhook, "/mentions", {"Content-Length": str(len(body)), "Content-Type": "application/json",
                                       SIGNATURE_HEADER: sign(SECRET, body)}, body)
    assert good == 202


def test_webhook_refuses_a_body_over_the_limit_without_reading_it(webhook: WebhookSource, tmp_path: Path) -> None:
    assert post(webhook, "/mentions", {"Content-Length": str(MAX_BODY + 1), "Content-Type": "application/json"},
                b"") == 413
