"""A care team's morning in real Chromium, every hop real: raw mentions -> worker (scores, enriches with the
loyalty links) -> mentions.scored -> the console's live queue, and -> indexer -> Elasticsearch for the
profile. A platinum member verifies her handle by posting a code, her complaint tops the queue, an agent
takes it, opens a case over his limit with an apology, a voucher and a follow-up; a supervisor approves it
and reads the audit trail. The screenshots of the queue, the profile and the case are the docs' pictures
(copied by hand to docs/img/ when the console changes)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from infra.db import transaction
from infra.settings import Settings
from stream import documents, es_admin
from stream.indexer import Batch, BulkWriter
from stream.schema import ScoredMention, format_time
from stream.scoring.scorer import Scorer
from tests.browser import console_demo as demo
from tests.browser.console_server import LiveConsole, live_console, open_as, queue_item, send_raw
from tests.conftest import ARTIFACTS, Processes, wait_for
from tests.unit.web_fixtures import migrated_copy
from web.models import Member

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def team(lc: Settings, processes: Processes) -> Iterator[LiveConsole]:
    processes.start("worker", "worker")
    processes.start("indexer", "indexer")
    migrated_copy(Path(lc.db_url.removeprefix("sqlite:///")))
    with live_console(lc, START_FEED=True, MIGRATE=False) as live:
        for name, role in [("alex", "agent"), ("jordan", "agent"), ("sam", "supervisor")]:
            live.add_user(name, role)
        with transaction(live.state.sessions) as s:  # the loyalty directory, as `members import` loads it
            for m in demo.MEMBERS:
                s.add(Member(loyalty_id=m.loyalty_id, name=m.name, tier=m.tier, email=m.email,
                             created_at=live.state.clock()))
        assert live.state.consumer is not None
        wait_for(live.state.consumer.ready.is_set, timeout=30, what="the feed consumer")
        yield live


def index_history(settings: Settings, now: datetime) -> None:
    """The members' earlier posts, scored by the real scorer and written by the indexer's own writer, as if
    the pipeline had handled them days ago (so they are in search, not in today's queue)."""
    scorer = Scorer()
    tiers = {(m.platform, "@" + m.handle): m.tier for m in demo.MEMBERS}
    batch = Batch()
    for mention in demo.history(now):
        tier = tiers.get((mention.platform, mention.author_handle))
        j = scorer.score(mention.text, linked=tier is not None, tier=tier)
        scored = ScoredMention(mention=mention, sentiment=j.sentiment, lexicon_version=j.lexicon_version,
                               scored_at=mention.created_at, categories=j.categories, intent=j.intent,
                               priority=j.priority, linked=tier is not None, tier=tier)
        alias = documents.write_alias(settings.index_prefix, documents.month_of(mention.created_at))
        batch.actions[mention.id] = (alias, documents.to_document(scored, now))
    es = es_admin.client(settings.es_url)
    # The template first, as the indexer does on start: an index made before it (the indexer process may not
    # have got there yet) would get dynamic mappings, and the search API's sort would be refused.
    es_admin.ensure_template(es, settings.index_prefix)
    written, dead = BulkWriter(es, settings.index_prefix, threading.Event()).write(batch, now)
    assert (written, dead) == (len(batch.actions), [])
    es.indices.refresh(index=f"{settings.index_prefix}*")


def reload_until(page: Page, selector: str, pattern: str, timeout: float = 60) -> None:
    def seen() -> bool:
        page.reload()
        try:  # text filled in by a script (a fetch) may take a moment after the load
            expect(page.locator(selector)).to_have_text(re.compile(pattern), timeout=2_000)
        except AssertionError:
            return False
        return True

    wait_for(seen, timeout=timeout, interval=0.5, what=f"{pattern!r} in {selector} of {page.url}")


def test_a_care_team_morning(browser: Browser, team: LiveConsole, lc: Settings) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    now = datetime.now(UTC).replace(microsecond=0)
    index_history(lc, now)
    maria = f"{team.url}/customers/{demo.MARIA.loyalty_id}"

    # Verified linking: Alex sends Maria a code; she posts it from her handle; the link is made, verified.
    alex = open_as(browser, team, "alex")
    alex.goto(maria)
    alex.select_option("select[name=platform]", demo.MARIA.platform)
    alex.fill("input[name=handle]", "@" + demo.MARIA.handle)
    alex.get_by_role("button", name="Send a verification code").click()
    found = re.search(r"LC-[0-9A-F]{8}", alex.locator("p.flash").inner_text())
    assert found, alex.locator("main").inner_text()
    send_raw(lc, demo.verification_post(now, found.group(0)))
    reload_until(alex, "#links", r"@maria_flies@mastodon\.social\s+verified")
    # A plain link (unverified) for James.
    alex.goto(f"{team.url}/customers/{demo.JAMES.loyalty_id}")
    alex.select_option("select[name=platform]", demo.JAMES.platform)
    alex.fill("input[name=handle]", demo.JAMES.handle)
    alex.get_by_role("button", name="Link", exact=True).click()
    expect(alex.locator("#links")).to_contain_text("not verified")

    # The morning's mentions arrive live; Maria's cancellation (platinum, linked) takes the top.
    alex.goto(f"{team.url}/")
    expect(alex.locator("#status")).to_have_text("live", timeout=10_000)
    live = demo.live(now)
    send_raw(lc, *live)
    for m in live:
        expect(queue_item(alex, m.id)).to_be_attached(timeout=60_000)
    top = alex.locator("#feed li").first
    expect(top).to_have_attribute("data-id", "mastodon:3009")
    expect(top.locator(".tier")).to_have_text("platinum")
    expect(queue_item(alex, "bluesky:3005").locator(".tier")).to_have_text("gold")

    # Jordan takes James's lost bag and ignores the code post; Alex sees both at once.
    jordan = open_as(browser, team, "jordan")
    queue_item(jordan, "bluesky:3005").locator("button.take").click()
    jordan.goto(f"{team.url}/mentions/mastodon:1199")
    jordan.fill("#ignore-reason", "verification code, link confirmed")
    jordan.get_by_role("button", name="Ignore", exact=True).click()
    expect(jordan.locator("#state")).to_contain_text("ignored")
    expect(queue_item(alex, "bluesky:3005").locator(".state")).to_have_text("taken by jordan")
    expect(queue_item(alex, "mastodon:1199").locator(".state")).to_contain_text("ignored by jordan")
    queue_item(alex, "mastodon:3009").locator("button.take").click()
    expect(queue_item(alex, "mastodon:3009").locator(".state")).to_have_text("taken by alex")
    alex.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)

    # The mention view: why it ranks first, who the author is, what happened before.
    queue_item(alex, "mastodon:3009").locator("a.open").click()
    why = alex.locator("#why")
    expect(why).to_contain_text("ranks #1 of")
    expect(why).to_contain_text("Loyalty tier platinum")
    expect(alex.locator("section.card", has_text="Customer")).to_contain_text("Maria Gonzalez")
    expect(alex.locator("section.card", has_text="Customer")).to_contain_text("verified")
    expect(alex.locator("#earlier-status")).to_have_text("from search")  # her history, from Elasticsearch
    expect(alex.locator("#earlier")).to_contain_text("Tasha at the DAL desk was wonderful")
    alex.screenshot(path=str(ARTIFACTS / "mention.png"), full_page=True)

    # A case from the mention: apology from the template, a voucher above the agent's limit, a follow-up.
    alex.get_by_role("link", name="Open a case").click()
    expect(alex.locator("main")).to_contain_text("Maria Gonzalez")
    alex.select_option("select[name=category]", "cancellation")
    alex.select_option("select[name=severity]", "high")
    alex.select_option("select[name=apology_template]", "cancellation")
    expect(alex.locator("textarea[name=apology]")).to_have_value(re.compile(r"^Hi Maria Gonzalez, we are very sorry"))
    alex.select_option("select[name=compensation_kind]", "voucher")
    alex.fill("input[name=amount]", "250")
    follow_up = (date.today() + timedelta(days=2)).isoformat()
    alex.fill("input[name=follow_up_on]", follow_up)
    alex.fill("textarea[name=notes]", "Rebooked on SK 1611 tomorrow 07:05 via DAL; second cancellation this month. "
                                      "Voucher for the trouble, call back after the trip.")
    alex.get_by_role("button", name="Open case").click()
    expect(alex.locator("#case-state")).to_have_text("waiting approval")
    expect(alex.locator("text=Waiting for a supervisor's approval")).to_be_visible()
    case_url = alex.url

    sam = open_as(browser, team, "sam", wait_live=False)
    sam.goto(f"{team.url}/cases/")
    sam.get_by_role("link", name="voucher $250.00").click()
    sam.get_by_role("button", name="Approve $250.00").click()
    expect(sam.locator("#case-state")).to_have_text("in progress")
    alex.goto(case_url)
    alex.get_by_role("button", name="First response sent").click()
    expect(alex.locator("main")).to_contain_text("answered in")
    sam.reload()
    expect(sam.locator("#history li")).to_have_count(3)  # open, approve, first response
    expect(sam.locator("#follow-up")).to_have_text(follow_up)
    sam.screenshot(path=str(ARTIFACTS / "case.png"), full_page=True)

    # The profile: verified handle, every mention from Elasticsearch (history + today), sentiment, the case.
    alex.goto(maria)
    api = f"{team.url}/api/authors/{demo.MARIA.handle}/mentions?platform={demo.MARIA.platform}&size=100"
    try:  # history, the code post, today's complaint (the last two through the indexer process)
        reload_until(alex, "#es-status", r"^([7-9]|\d\d+) found$", timeout=60)
    except BaseException:
        answer = alex.request.get(api)
        print(f"search API answered {answer.status}: {answer.text()[:2000]}")
        raise
    posts = [*demo.history(now), demo.verification_post(now, ""), *demo.live(now)]
    days = {m.created_at[:10] for m in posts if m.author_handle == "@" + demo.MARIA.handle}
    expect(alex.locator("#sentiment-chart svg circle")).to_have_count(len(days))  # a dot a day she posted
    expect(alex.locator("main")).to_contain_text("cancellation · in progress")
    alex.screenshot(path=str(ARTIFACTS / "profile.png"), full_page=True)

    # The audit trail: links, the verification, the case and its approval, who and when; read only.
    sam.goto(f"{team.url}/admin/audit")
    audit = sam.locator("#audit")
    for action in ("link.code", "link.verify", "link.create", "case.open", "case.approve", "case.first_response"):
        expect(audit).to_contain_text(action)
    sam.get_by_role("link", name="link", exact=True).click()
    expect(audit.locator("tbody tr")).to_have_count(3)
    expect(audit).not_to_contain_text("case.open")
    assert sam.locator("#audit form, #audit button").count() == 0
    sam.screenshot(path=str(ARTIFACTS / "audit.png"), full_page=True)
    print(f"story at {format_time(now)}: queue, case, profile and audit screenshots in {ARTIFACTS}")
