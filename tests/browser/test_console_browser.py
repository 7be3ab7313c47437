"""The console in real headless Chromium (Debian's), against real Kafka: log in, live queue without a
reload (placed by priority as mentions arrive), two agents and one mention, hostile text stays text, replies,
CSRF, roles, a case over the limit, and the enrichment loop through the real worker. The full story with the
docs' screenshots is test_console_story.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, expect

from infra.db import transaction
from infra.settings import Settings
from tests.browser.console_server import LiveConsole, live_console, open_as, produce_scored, queue_item, send_raw
from tests.conftest import Processes, wait_for
from tests.unit.web_fixtures import migrated_copy, scored
from web.models import Member

pytestmark = [pytest.mark.browser, pytest.mark.integration]


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


def test_produced_mentions_take_their_place_by_priority_without_reload(
    browser: Browser, console: LiveConsole, lc: Settings
) -> None:
    page = open_as(browser, console, "ana")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    produce_scored(
        lc,
        scored("mastodon:100", "Flight 1234 delayed three hours, no updates at the gate", priority=40),
        scored("mastodon:102", "Great crew today, thank you!", priority=0, label="positive", compound=0.8),
    )
    expect(queue_item(page, "mastodon:102")).to_be_visible(timeout=15_000)
    ids = page.locator("#feed li").evaluate_all("items => items.map(li => li.dataset.id)")
    assert ids == ["mastodon:100", "mastodon:102"]
    # A more urgent one arrives later: it goes to the top; a middling one slots in between.
    produce_scored(lc, scored("mastodon:101", "Lost my bag with my insulin in it. Gold member.", priority=71,
                              handle="@vip"))
    expect(page.locator("#feed li").first).to_have_attribute("data-id", "mastodon:101", timeout=15_000)
    produce_scored(lc, scored("mastodon:103", "Is the lounge open?", priority=10, label="neutral", compound=0))
    expect(page.locator("#feed li")).to_have_count(4, timeout=15_000)
    ids = page.locator("#feed li").evaluate_all("items => items.map(li => li.dataset.id)")
    assert ids == ["mastodon:101", "mastodon:100", "mastodon:103", "mastodon:102"]
    expect(page.locator("#count")).to_have_text("4 shown of 4")
    page.select_option("#f-sentiment", "negative")  # filters apply in place too
    expect(page.locator("#count")).to_have_text("2 shown of 4")
    assert navigations == []  # all of it without a page load


def test_two_agents_one_takes_it_and_the_other_sees_it_taken(
    browser: Browser, console: LiveConsole, lc: Settings
) -> None:
    ana, bo = open_as(browser, console, "ana"), open_as(browser, console, "bo")
    produce_scored(lc, scored("mastodon:200", "Cancelled flight, stuck in Denver"))
    for page in (ana, bo):
        expect(queue_item(page, "mastodon:200")).to_be_visible(timeout=15_000)
    queue_item(ana, "mastodon:200").locator("button.take").click()
    expect(queue_item(bo, "mastodon:200").locator(".state")).to_have_text("taken by ana", timeout=5_000)
    expect(queue_item(bo, "mastodon:200").locator("button.take")).to_be_hidden()
    expect(queue_item(ana, "mastodon:200").locator(".state")).to_have_text("taken by ana")


def test_hostile_mention_text_renders_as_text_and_runs_nothing(
    browser: Browser, console: LiveConsole, lc: Settings
) -> None:
    page = open_as(browser, console, "ana")
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    hostile = "<img src=x onerror=alert(1)>"
    produce_scored(lc, scored("mastodon:300", hostile, handle="@<b>evil</b>"))
    row = queue_item(page, "mastodon:300")
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
    page = open_as(browser, console, "ana")
    produce_scored(lc, scored("mastodon:350", "Where is my refund?", handle="@waiting"))
    expect(queue_item(page, "mastodon:350")).to_be_visible(timeout=15_000)
    queue_item(page, "mastodon:350").locator("button.take").click()
    expect(queue_item(page, "mastodon:350").locator(".state")).to_have_text("taken by ana")
    page.goto(f"{console.url}/mentions/mastodon:350")
    page.get_by_role("button", name="sorry").click()
    expect(page.locator("#reply-text")).to_have_value(re.compile(r"^Hi @waiting, we're sorry"))
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#replies li").last).to_contain_text("to send by hand")
    expect(page.locator("#replies button.copy")).to_be_visible()
    expect(page.locator("#state")).to_have_text("replied by ana")


def test_post_without_csrf_token_is_refused_and_agent_cannot_open_admin(browser: Browser, console: LiveConsole) -> None:
    page = open_as(browser, console, "ana")
    refused = page.context.request.post(
        f"{console.url}/customers/", form={"loyalty_id": "ZZ999999", "name": "X", "tier": "gold"}
    )
    assert refused.status == 400
    resp = page.goto(f"{console.url}/admin/")
    assert resp is not None and resp.status == 403
    resp = page.goto(f"{console.url}/admin/audit")
    assert resp is not None and resp.status == 403


def test_case_over_the_limit_waits_for_a_supervisor(browser: Browser, console: LiveConsole, lc: Settings) -> None:
    ana = open_as(browser, console, "ana")
    ana.goto(f"{console.url}/customers/AB123456")
    ana.fill("input[name=handle]", "@ana_travels")
    ana.get_by_role("button", name="Link", exact=True).click()
    expect(ana.locator("#links")).to_contain_text("@ana_travels")
    produce_scored(lc, scored("mastodon:400", "Third delay this month. I want a refund.", handle="@ana_travels"))
    ana.goto(f"{console.url}/")
    expect(queue_item(ana, "mastodon:400")).to_be_visible(timeout=15_000)
    queue_item(ana, "mastodon:400").locator("button.take").click()
    expect(queue_item(ana, "mastodon:400").locator(".state")).to_have_text("taken by ana")
    ana.goto(f"{console.url}/cases/new?mention_id=mastodon:400&loyalty_id=AB123456")
    ana.select_option("select[name=category]", "delay")
    ana.select_option("select[name=severity]", "high")
    ana.select_option("select[name=compensation_kind]", "voucher")
    ana.fill("input[name=amount]", "150")
    ana.fill("textarea[name=notes]", "Three delays in March; offered a voucher.")
    ana.get_by_role("button", name="Open case").click()
    expect(ana.locator("#case-state")).to_have_text("waiting approval")
    expect(ana.locator("text=Waiting for a supervisor's approval")).to_be_visible()
    sue = open_as(browser, console, "sue")
    sue.goto(ana.url)
    sue.click("button[value=approve]")
    expect(sue.locator("#case-state")).to_have_text("in progress")
    ana.goto(f"{console.url}/customers/AB123456")
    expect(ana.locator("main")).to_contain_text("Third delay this month")


def test_a_linked_handles_next_mention_arrives_enriched(
    browser: Browser, console: LiveConsole, lc: Settings, processes: Processes
) -> None:
    """The whole loop: the console links a handle -> identity.links -> the stream worker enriches the
    author's next raw mention -> mentions.scored -> the queue shows the member's tier."""
    processes.start("worker", "worker")
    send_raw(lc, scored("mastodon:499", "Warming up: is Skyway flying today?", handle="@someone").mention)
    wait_for(lambda: console.state.hub.find("mastodon:499"), timeout=90, what="the worker scoring a first mention")
    ana = open_as(browser, console, "ana")
    ana.goto(f"{console.url}/customers/AB123456")
    ana.fill("input[name=handle]", "@Gold_Flyer")
    ana.get_by_role("button", name="Link", exact=True).click()
    expect(ana.locator("#links")).to_contain_text("@Gold_Flyer")
    ana.goto(f"{console.url}/")
    send_raw(lc, scored("mastodon:500", "Skyway lost my luggage on the way to Denver", handle="@gold_flyer").mention)
    row = queue_item(ana, "mastodon:500")
    expect(row).to_be_visible(timeout=30_000)
    expect(row.locator(".tier")).to_have_text("gold")
    ana.check("#f-linked")
    expect(row).to_be_visible()
    expect(queue_item(ana, "mastodon:499")).to_be_hidden()

