"""The quality loop (corrections -> agreement), why a mention ranks where it does, and a case's history."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from infra.db import transaction
from stream.schema import Priority
from tests.unit.web_fixtures import add_user, database_for, login, make_app, scored, state
from web.care import agrees, category_names, queue_rank
from web.models import Member


@pytest.fixture
def app(tmp_path: Path, request: pytest.FixtureRequest) -> Flask:
    app = make_app(tmp_path, database_for(request))
    add_user(app, "ana", "agent")
    add_user(app, "sue", "supervisor")
    return app


@pytest.mark.parametrize(
    ("field", "automatic", "corrected", "expected"),
    [
        ("sentiment", "negative", "negative", True),
        ("sentiment", "negative", "neutral", False),
        ("category", "delays,baggage", "baggage", True),
        ("category", "delays", "refunds_billing", False),
        ("category", "", "none", True),
        ("category", "delays", "none", False),
    ],
)
def test_agreement_rules(field: str, automatic: str, corrected: str, expected: bool) -> None:
    assert agrees(field, automatic, corrected) is expected


def test_rank_counts_only_mentions_that_outrank_it() -> None:
    queue = [scored(f"m:{i}", priority=p) for i, p in enumerate([10.0, 60.0, 35.0, 60.0])]
    assert queue_rank("m:2", 35.0, queue) == (3, 4)
    assert queue_rank("m:9", 99.0, queue) == (1, 5)  # not in the queue (any more): counted in


@pytest.mark.postgres_too  # the console's database flows run on PostgreSQL too
def test_category_corrections_count_as_agreement_when_the_scorer_had_it(app: Flask) -> None:
    hub = state(app).hub
    hub.publish(scored("mastodon:1", categories=["delays", "baggage"]))
    hub.publish(scored("mastodon:2", categories=["delays"]))
    client = app.test_client()
    token = login(client, "ana")
    headers = {"X-CSRFToken": token}
    assert "baggage" in category_names()
    refused = client.post("/mentions/mastodon:1/correct", json={"field": "category", "value": "made-up"},
                          headers=headers)
    assert refused.status_code == 400
    for mid, value in [("mastodon:1", "baggage"), ("mastodon:2", "refunds_billing")]:
        resp = client.post(f"/mentions/{mid}/correct", json={"field": "category", "value": value}, headers=headers)
        assert resp.status_code == 200, resp.get_json()
    html = client.get("/quality").get_data(as_text=True)
    assert re.search(r"skyway</td><td>category</td><td>care-1</td><td>2</td><td>1</td><td>50%", html)


@pytest.mark.postgres_too  # the console's database flows run on PostgreSQL too
def test_mention_page_says_why_it_ranks_where_it_does(app: Flask) -> None:
    hub = state(app).hub
    top = scored("mastodon:1", priority=80.0)
    top.priority = Priority(
        80.0, ["Negative sentiment (compound -0.80): +24 points.", "Intent is complaint: +15 points."]
    )
    hub.publish(top)
    hub.publish(scored("mastodon:2", priority=90.0))
    client = app.test_client()
    login(client, "ana")
    html = client.get("/mentions/mastodon:1").get_data(as_text=True)
    assert "ranks #2 of 2 in the live queue" in html
    assert "<li>Intent is complaint: +15 points.</li>" in html
    assert '<select id="correct-category">' in html


@pytest.mark.postgres_too  # the console's database flows run on PostgreSQL too
def test_case_page_shows_its_history_to_supervisors_only(app: Flask) -> None:
    with transaction(state(app).sessions) as s:
        s.add(Member(loyalty_id="AB123456", name="Ana Diaz", tier="gold", email="", created_at=state(app).clock()))
    ana = app.test_client()
    token = login(ana, "ana")
    page = ana.get("/cases/new?loyalty_id=AB123456").get_data(as_text=True)
    assert '<li data-key="delay">Hi Ana Diaz, we are sorry your trip was delayed.' in page  # for case_new.js
    resp = ana.post("/cases/new", data={
        "csrf_token": token, "loyalty_id": "AB123456", "category": "delay", "severity": "high",
        "compensation_kind": "points", "amount": "20000", "apology_template": "delay", "apology": "Sorry!",
        "follow_up_on": "2025-03-04",
    })
    assert resp.status_code == 302
    assert 'id="history"' not in ana.get("/cases/1").get_data(as_text=True)
    sue = app.test_client()
    sue_token = login(sue, "sue")
    sue.post("/cases/1/decision", data={"csrf_token": sue_token, "decision": "approve"})
    html = sue.get("/cases/1").get_data(as_text=True)
    assert re.search(r'id="history"><li><time>[^<]+</time> ana · open</li><li><time>[^<]+</time> sue · approve</li>',
                     html)
    assert "opened by ana" in html and 'id="follow-up">2025-03-04' in html


def test_assignment_rules() -> None:
    from web.queue_states import QueueState, TransitionError, assign

    assert assign(QueueState(), "supervisor", 7) == QueueState("taken", 7, "")
    assert assign(QueueState("taken", 3), "admin", 7).assignee_id == 7
    with pytest.raises(TransitionError):
        assign(QueueState(), "agent", 7)
    with pytest.raises(TransitionError):
        assign(QueueState("resolved", 3), "supervisor", 7)


@pytest.mark.postgres_too  # the console's database flows run on PostgreSQL too
def test_a_supervisor_assigns_a_mention_and_every_console_is_told(app: Flask) -> None:
    add_user(app, "bo", "agent")
    add_user(app, "mo", "marketing")
    hub = state(app).hub
    hub.publish(scored("mastodon:1"))
    watcher = hub.subscribe()
    ana = app.test_client()
    ana_token = login(ana, "ana")
    ana_headers = {"X-CSRFToken": ana_token}
    assert ana.post("/mentions/mastodon:1/assign", json={"to": "bo"}, headers=ana_headers).status_code == 403
    sue = app.test_client()
    headers = {"X-CSRFToken": login(sue, "sue")}
    assert 'id="assign-to"' in sue.get("/mentions/mastodon:1").get_data(as_text=True)
    refused = sue.post("/mentions/mastodon:1/assign", json={"to": "mo"}, headers=headers)
    assert refused.status_code == 400 and "not an active agent" in refused.get_json()["error"]
    resp = sue.post("/mentions/mastodon:1/assign", json={"to": "bo"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["assignee"] == "bo"
    event = watcher.get(0.5)
    assert event is not None and '"assignee":"bo"' in event.data
    # Ana cannot take or answer it now; Bo holds it.
    assert ana.post("/mentions/mastodon:1/take", json={}, headers=ana_headers).status_code == 409
