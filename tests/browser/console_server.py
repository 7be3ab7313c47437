"""A real console for tests: the app on a threaded werkzeug server on 127.0.0.1, port 0."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from flask import Flask
from kafka import KafkaProducer
from playwright.sync_api import Browser, Locator, Page, expect
from werkzeug.serving import make_server

from infra.db import transaction
from infra.settings import Settings
from stream.schema import Mention, ScoredMention
from web import create_app
from web.accounts import create_user
from web.context import Console

PASSWORD = "correct horse battery staple"
CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright drives it, no browser download
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


class LiveConsole:
    def __init__(self, app: Flask, url: str) -> None:
        self.app, self.url = app, url

    @property
    def state(self) -> Console:
        found: Console = self.app.extensions["listening_center"]
        return found

    def add_user(self, name: str, role: str) -> None:
        with transaction(self.state.sessions) as session:
            create_user(session, name, role, PASSWORD, self.state.clock())

    def login(self, client: httpx.Client, name: str) -> str:
        page = client.get(f"{self.url}/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token
        resp = client.post(
            f"{self.url}/login", data={"username": name, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert resp.status_code == 302, resp.text
        home = client.get(f"{self.url}/").text
        meta = re.search(r'name="csrf-token" content="([^"]+)"', home)
        assert meta
        return meta.group(1)


@contextmanager
def live_console(settings: Settings, **overrides: Any) -> Iterator[LiveConsole]:
    app = create_app(settings, **overrides)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveConsole(app, f"http://127.0.0.1:{server.port}")
    finally:
        server.shutdown()
        state: Console = app.extensions["listening_center"]
        if state.consumer is not None:
            state.consumer.stop()
            state.consumer.join(10)
        close = getattr(state.identity, "close", None)
        if close is not None:
            close()


def produce_scored(settings: Settings, *mentions: ScoredMention) -> None:
    """Straight onto mentions.scored, as the worker would: for tests of the console alone."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for m in mentions:
        producer.send(settings.topic("mentions.scored"), key=m.mention.brand.encode(), value=m.to_json())
    producer.flush()
    producer.close()


def send_raw(settings: Settings, *mentions: Mention) -> None:
    """Onto mentions.raw, as a listener would: the worker has to score them first."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for m in mentions:
        producer.send(settings.topic("mentions.raw"), key=m.id.encode(), value=m.to_json())
    producer.flush()
    producer.close()


def open_as(browser: Browser, console: LiveConsole, name: str, wait_live: bool = True) -> Page:
    """A fresh browser context (its own cookies: another person) logged in through the real form."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{console.url}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    if wait_live:
        expect(page.locator("#status")).to_have_text("live", timeout=10_000)
    return page


def queue_item(page: Page, mention_id: str) -> Locator:
    return page.locator(f'#feed li[data-id="{mention_id}"]')
