"""The on-call pages in real headless Chromium: a new incident appears in the open list without a reload,
its page draws the chart, and the acknowledge button moves it; no script or style is blocked by the CSP.
Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from alerting.outbox import ingest
from alerting.routing import Router, RoutingConfig
from infra.db import transaction
from infra.settings import Settings
from stream.schema import SpikeAlert, format_time
from tests.browser.console_server import PASSWORD, LiveConsole, live_console

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
ROUTES = {"timezone": "UTC", "policies": {"p": [{"after_minutes": 0, "targets": ["webhook"]}]},
          "routes": [{"name": "all", "policy": "p"}]}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def console(lc: Settings) -> Iterator[LiveConsole]:
    with live_console(lc, START_FEED=False, ONCALL_POLL_SECONDS=0.5) as live:
        live.add_user("olga", "oncall")
        yield live


def open_incident(console: LiveConsole) -> None:
    now = datetime.now(UTC)
    alert = SpikeAlert(dedupe_key="skyway:wifi:spike", kind="spike", brand="skyway", category="wifi",
                       window_start=format_time(now - timedelta(minutes=2)), window_end=format_time(now),
                       observed=31, expected=4, score=8.0, detected_at=format_time(now),
                       top_terms=["<b>wifi</b>", "portal"])
    with transaction(console.state.sessions) as s:
        ingest(s, Router(RoutingConfig.from_dict(ROUTES)), alert.to_json(), "alerts.spikes", 0, 0, now)


def test_incident_appears_live_and_is_acknowledged_in_the_browser(browser: Browser, console: LiveConsole) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    problems: list[str] = []
    # Script errors and CSP refusals show as console errors; failed loads are checked by URL instead, since
    # the browser's own /favicon.ico request is not ours.
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("response", lambda resp: problems.append(f"{resp.status} {resp.url}")
            if resp.status >= 400 and not resp.url.endswith("/favicon.ico") else None)
    page.goto(f"{console.url}/login?next=/oncall/")
    page.fill("input[name=username]", "olga")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#status")).to_have_text("live", timeout=10_000)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    open_incident(console)
    row = page.locator("#list-open tr[data-id]")
    expect(row).to_have_count(1, timeout=10_000)
    expect(row).to_contain_text("<b>wifi</b>, portal")  # text, not markup
    assert navigations == []  # it came without a reload
    page.screenshot(path=str(ARTIFACTS / "oncall-list.png"), full_page=True)

    row.locator("a").click()
    expect(page.locator("#chart")).to_be_visible()
    expect(page.locator("#incident-status")).to_have_text("open")
    page.click("#acknowledge")
    expect(page.locator("#incident-status")).to_have_text("acknowledged")
    expect(page.locator("#actions")).to_contain_text("olga")
    page.screenshot(path=str(ARTIFACTS / "oncall-incident.png"), full_page=True)

    page.goto(f"{console.url}/oncall/")
    expect(page.locator("#list-acknowledged tr[data-id]")).to_have_count(1, timeout=10_000)
    assert problems == []  # nothing refused by the Content-Security-Policy, no script errors
