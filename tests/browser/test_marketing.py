"""The marketing page in real Chromium over real Elasticsearch: charts render, a click drills down to the
right mentions, CSV downloads."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.settings import Settings
from tests.browser.console_server import PASSWORD, LiveConsole, live_console
from tests.conftest import ARTIFACTS
from tests.integration.search_data import NOW, load, make_docs
from tests.unit.web_fixtures import FakeClock
from web.identity import RecordingPublisher

pytestmark = [pytest.mark.browser, pytest.mark.integration]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
DOCS = make_docs()
SINCE = NOW - timedelta(days=14)


def when(d: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(d["created_at"].replace("Z", "+00:00"))


@pytest.fixture
def console(lc: Settings, tmp_path: Path) -> Iterator[LiveConsole]:
    load(lc, DOCS)
    settings = dataclasses.replace(lc, runtime_dir=tmp_path, secret_key="browser-secret",
                                   database_url=f"sqlite:///{tmp_path}/console.db")
    with live_console(settings, START_FEED=False, IDENTITY_PUBLISHER=RecordingPublisher(),
                      CLOCK=FakeClock(NOW)) as live:
        live.add_user("mia", "marketing")
        yield live


@pytest.fixture
def page(console: LiveConsole, tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
        pg.on("response", lambda r: errors.append(f"{r.status} {r.url}")
              if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        pg.goto(f"{console.url}/login")
        pg.fill("input[name=username]", "mia")
        pg.fill("input[name=password]", PASSWORD)
        pg.click("button[type=submit]")
        pg.wait_for_url(f"{console.url}/", wait_until="commit")
        yield pg
        browser.close()
        assert errors == [], errors  # no script errors and no CSP violations


def test_charts_render_drill_down_and_csv(console: LiveConsole, page: Any) -> None:
    page.goto(f"{console.url}/marketing/?since=2026-11-01&until=2026-11-15&interval=day")
    charts = page.locator("svg.chart")
    assert charts.count() == 5
    assert page.locator("svg.chart-line circle").count() == 2 * 4 * 14  # two line charts, 4 brands, 14 days
    assert page.locator("svg.chart-line polyline").count() == 8
    box = charts.first.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    cards = page.locator(".brand-card")
    in_range = [d for d in DOCS if SINCE <= when(d) < NOW]
    assert cards.count() == 4
    assert cards.first.locator(".who").inner_text() == "skyway"  # own brand first, then competitors
    shown = {cards.nth(i).locator(".who").inner_text(): int(cards.nth(i).locator(".big").inner_text())
             for i in range(4)}
    assert shown == {b: sum(d["brand"] == b for d in in_range) for b in shown}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "marketing.png"), full_page=True)

    # Click the negative segment of northwind's sentiment bar: the panel lists exactly those mentions.
    segment = page.locator("svg.chart-bars a.drill[data-title^='northwind: '][data-title*=' negative ']")
    segment.locator("rect").click()
    total = page.locator("#drill .drill-total")
    total.wait_for()
    expected = {d["id"] for d in in_range if d["brand"] == "northwind" and d["sentiment"] == "negative"}
    assert int(total.get_attribute("data-total") or -1) == len(expected)
    listed = page.locator("#drill li.mention").evaluate_all("els => els.map(e => e.dataset.id)")
    assert listed and set(listed) <= expected
    assert page.url.startswith(f"{console.url}/marketing/?")  # the panel opened in place
    page.screenshot(path=str(ARTIFACTS / "marketing-drill.png"), full_page=False)

    with page.expect_download() as info:
        page.click("#drill-csv")
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert {r["id"] for r in rows} == expected
    assert {r["sentiment"] for r in rows} == {"negative"}


def demo_documents(start: datetime, days: int = 2) -> list[dict[str, Any]]:
    """Demo posts (a competitor outage on top of normal traffic), scored by the real scorer."""
    from listeners.sources.demo import generate, to_mention
    from stream.documents import to_document
    from stream.schema import ScoredMention
    from stream.scoring.scorer import Scorer

    scorer = Scorer()
    docs = []
    # Normal traffic from the period before too, so "unusual terms" has a baseline to differ from.
    runs = (("normal", start - timedelta(days=days), 2 * days), ("competitor_outage", start, days))
    for scenario, begin, length in runs:
        for _, post in generate(scenario, 42, begin, duration=timedelta(days=length), per_minute=0.5):
            mention = to_mention(post, with_truth=True)
            if not mention.brand:
                continue
            j = scorer.score(mention.text, followers=mention.author_followers)
            scored = ScoredMention(mention=mention, sentiment=j.sentiment, lexicon_version=j.lexicon_version,
                                   scored_at=mention.created_at, categories=list(j.categories), intent=j.intent,
                                   priority=j.priority)
            docs.append(to_document(scored, when(post)))
    return docs


def test_demo_data_screenshot(lc: Settings, tmp_path: Path) -> None:
    """The page on the demo generator's posts (scored for real): the picture docs/search.md shows."""
    from playwright.sync_api import sync_playwright

    start = NOW - timedelta(days=2)
    load(lc, demo_documents(start))
    settings = dataclasses.replace(lc, runtime_dir=tmp_path, secret_key="browser-secret",
                                   database_url=f"sqlite:///{tmp_path}/console.db")
    with live_console(settings, START_FEED=False, IDENTITY_PUBLISHER=RecordingPublisher(),
                      CLOCK=FakeClock(NOW)) as live, sync_playwright() as p:
        live.add_user("mia", "marketing")
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1300, "height": 1000})
        pg.goto(f"{live.url}/login")
        pg.fill("input[name=username]", "mia")
        pg.fill("input[name=password]", PASSWORD)
        pg.click("button[type=submit]")
        pg.wait_for_url(f"{live.url}/", wait_until="commit")
        pg.goto(f"{live.url}/marketing/?since={start:%Y-%m-%d}&until={NOW:%Y-%m-%d}&interval=hour")
        assert pg.locator("svg.chart").count() == 5
        assert {c.inner_text() for c in pg.locator(".brand-card .who").all()} >= {"skyway", "northwind"}
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "marketing-demo.png"), full_page=True)
        browser.close()
