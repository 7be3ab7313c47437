"""The console in real headless Chromium (Debian's), against real Kafka: log in, live queue without a
reload, two agents and one mention, hostile text stays text, CSRF, roles, a case over the limit.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer
from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright

from infra.db import transaction
from infra.settings import Settings
from stream.schema import Mention, ScoredMention
from tests.browser.console_server import PASSWORD, LiveConsole, live_console
from tests.conftest import Processes, wait_for
from tests.unit.web_fixtures import migrated_copy, scored
from web.models import Member

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def console(lc: Settings) -> Iterator[LiveConsole]:
    database = lc.db_url.removeprefix("sqlite:///")
    migrated_copy(Path(database))  # a copy of a migrated file: seconds faster than migrating per test
    with live_console(lc, START_FEED=True, MIGRATE=False) as live:
        for name, role in [("ana", "agent"), ("bo", "agent"), ("sue", "supervisor")]:
            live.add_user(name, role)
        with transaction(live.state.sessions) as s:
            s.add(
                Member(
                    loyalty_id="AB123456",
                    name="Ana Diaz",
                    tier="gold",
                    email="ana@example.com",
                    created_at=live.state.clock(),
                )
            )
        assert live.state.consumer is not None
        wait_for(live.state.consumer.ready.is_set, timeout=30, what="the feed consumer")
        yield live


def produce(settings: Settings, *mentions: ScoredMention) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for m in mentions:
        producer.send(settings.topic("mentions.scored"), key=m.mention.brand.encode(), value=m.to_json())
    producer.flush()
    producer.close()


def login(browser: Browser, console: LiveConsole, name: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{console.url}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#status")).to_have_text("live", timeout=10_000)
    return page


def item(page: Page, mention_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f'#feed li[data-id="{mention_id}"]')


def test_a_produced_mention_appears_in_the_queue_without_reload(
    browser: Browser, console: LiveConsole, lc: Settings
) -> None:
    page = login(browser, console, "ana")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    produce(
        lc,
        scored("mastodon:100", "Flight 1234 delayed three hours, no updates at the gate", priority=0.4),
        scored("mastodon:101", "Lost my bag again. Gold member for 9 years.", priority=0.9, handle="@vip"),
        scored("mastodon:102", "Great crew today, thank you!", priority=0.1, label="positive", compound=0.8),
    )
    expect(item(page, "mastodon:102")).to_be_visible(timeout=15_000)
    expect(page.locator("#feed li")).to_have_count(3)
    # by priority: the bag complaint first
    assert page.locator("#feed li").first.get_attribute("data-id") == "mastodon:101"
    assert navigations == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-queue.png"), full_page=True)


def test_two_agents_one_takes_it_and_the_other_sees_it_taken(
    browser: Browser, console: LiveConsole, lc: Settings
) -> None:
    ana, bo = login(browser, console, "ana"), login(browser, console, "bo")
    produce(lc, scored("mastodon:200", "Cancelled flight, stuck in Denver"))
    for page in (ana, bo):
        expect(item(page, "mastodon:200")).to_be_visible(timeout=15_000)
    item(ana, "mastodon:200").locator("button.take").click()
    expect(item(bo, "mastodon:200").locator(".state")).to_have_text("taken by ana", timeout=5_000)
    expect(item(bo, "mastodon:200").locator("button.take")).to_be_hidden()
    expect(item(ana, "mastodon:200").locator(".state")).to_have_text("taken by ana")


def test_hostile_mention_text_renders_as_text_and_runs_nothing(
    browser: Browser, console: LiveConsole, lc: Settings
) -> None:
    page = login(browser, console, "ana")
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    hostile = "<img src=x onerror=alert(1)>"
    produce(lc, scored("mastodon:300", hostile, handle="@<b>evil</b>"))
    row = item(page, "mastodon:300")
    expect(row).to_be_visible(timeout=15_000)
    expect(row.locator(".text")).to_have_text(hostile)
    assert page.locator("#feed img").count() == 0 and page.locator("#feed b").count() == 0
    page.goto(f"{console.url}/mentions/mastodon:300")
    expect(page.locator("#mention .text")).to_have_text(hostile)
    assert page.locator("#mention img").count() == 0
    page.wait_for_timeout(300)  # give a broken page the chance to fire the handler
    assert dialogs == []


def test_agent_replies_from_a_template_and_gets_a_copy_button(
    browser: Browser, console: LiveConsole, lc: Settings
) -> None:
    page = login(browser, console, "ana")
    produce(lc, scored("mastodon:350", "Where is my refund?", handle="@waiting"))
    expect(item(page, "mastodon:350")).to_be_visible(timeout=15_000)
    item(page, "mastodon:350").locator("button.take").click()
    expect(item(page, "mastodon:350").locator(".state")).to_have_text("taken by ana")
    page.goto(f"{console.url}/mentions/mastodon:350")
    page.get_by_role("button", name="sorry").click()
    expect(page.locator("#reply-text")).to_have_value(re.compile(r"^Hi @waiting, we're sorry"))
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#replies li").last).to_contain_text("to send by hand")
    expect(page.locator("#replies button.copy")).to_be_visible()
    expect(page.locator("#state")).to_have_text("replied by ana")


def test_post_without_csrf_token_is_refused_and_agent_cannot_open_admin(browser: Browser, console: LiveConsole) -> None:
    page = login(browser, console, "ana")
    refused = page.context.request.post(
        f"{console.url}/customers/", form={"loyalty_id": "ZZ999999", "name": "X", "tier": "gold"}
    )
    assert refused.status == 400
    resp = page.goto(f"{console.url}/admin/")
    assert resp is not None and resp.status == 403
    resp = page.goto(f"{console.url}/admin/audit")
    assert resp is not None and resp.status == 403


def test_case_over_the_limit_waits_for_a_supervisor(browser: Browser, console: LiveConsole, lc: Settings) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    ana = login(browser, console, "ana")
    ana.goto(f"{console.url}/customers/AB123456")
    ana.fill("input[name=handle]", "@ana_travels")
    ana.get_by_role("button", name="Link", exact=True).click()
    expect(ana.locator("#links")).to_contain_text("@ana_travels")
    produce(lc, scored("mastodon:400", "Third delay this month. I want a refund.", handle="@ana_travels"))
    ana.goto(f"{console.url}/")
    expect(item(ana, "mastodon:400")).to_be_visible(timeout=15_000)
    item(ana, "mastodon:400").locator("button.take").click()
    expect(item(ana, "mastodon:400").locator(".state")).to_have_text("taken by ana")
    ana.goto(f"{console.url}/cases/new?mention_id=mastodon:400&loyalty_id=AB123456")
    ana.select_option("select[name=category]", "delay")
    ana.select_option("select[name=severity]", "high")
    ana.select_option("select[name=compensation_kind]", "voucher")
    ana.fill("input[name=amount]", "150")
    ana.fill("textarea[name=notes]", "Three delays in March; offered a voucher.")
    ana.get_by_role("button", name="Open case").click()
    expect(ana.locator("#case-state")).to_have_text("waiting approval")
    expect(ana.locator("text=Waiting for a supervisor's approval")).to_be_visible()
    ana.screenshot(path=str(ARTIFACTS / "console-case-waiting.png"), full_page=True)
    sue = login(browser, console, "sue")
    sue.goto(ana.url)
    sue.click("button[value=approve]")
    expect(sue.locator("#case-state")).to_have_text("in progress")
    sue.screenshot(path=str(ARTIFACTS / "console-case.png"), full_page=True)
    ana.goto(f"{console.url}/customers/AB123456")
    expect(ana.locator("main")).to_contain_text("Third delay this month")
    ana.screenshot(path=str(ARTIFACTS / "console-profile.png"), full_page=True)


def test_a_linked_handles_next_mention_arrives_enriched(
    browser: Browser, console: LiveConsole, lc: Settings, processes: Processes
) -> None:
    """The whole loop: the console links a handle -> identity.links -> the stream worker enriches the
    author's next raw mention -> mentions.scored -> the queue shows the member's tier."""
    processes.start("worker", "worker")
    send_raw(lc, scored("mastodon:499", "Warming up: is Skyway flying today?", handle="@someone").mention)
    wait_for(lambda: console.state.hub.find("mastodon:499"), timeout=90, what="the worker scoring a first mention")
    ana = login(browser, console, "ana")
    ana.goto(f"{console.url}/customers/AB123456")
    ana.fill("input[name=handle]", "@Gold_Flyer")
    ana.get_by_role("button", name="Link", exact=True).click()
    expect(ana.locator("#links")).to_contain_text("@Gold_Flyer")
    ana.goto(f"{console.url}/")
    send_raw(lc, scored("mastodon:500", "Skyway lost my luggage on the way to Denver", handle="@gold_flyer").mention)
    row = item(ana, "mastodon:500")
    expect(row).to_be_visible(timeout=30_000)
    expect(row.locator(".tier")).to_have_text("gold")
    ana.check("#f-linked")
    expect(row).to_be_visible()
    expect(item(ana, "mastodon:499")).to_be_hidden()


def send_raw(settings: Settings, mention: Mention) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    producer.send(settings.topic("mentions.raw"), key=mention.id.encode(), value=mention.to_json())
    producer.flush()
    producer.close()
