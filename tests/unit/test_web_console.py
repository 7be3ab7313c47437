"""The console's flows through the Flask test client on a fresh SQLite database per test."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from infra.db import transaction
from stream.schema import IdentityLink
from tests.unit.web_fixtures import FakeClock, add_user, database_for, login, make_app, scored, state
from web.identity import RecordingPublisher
from web.models import AuditEntry, AuditImmutableError, Case, HandleLink, Member

pytestmark = pytest.mark.postgres_too  # the same flows run on PostgreSQL under `make test`


@pytest.fixture
def app(tmp_path: Path, request: pytest.FixtureRequest) -> Flask:
    app = make_app(tmp_path, database_for(request))
    for name, role in [("ana", "agent"), ("bo", "agent"), ("sue", "supervisor"), ("adm", "admin")]:
        add_user(app, name, role)
    return app


def _client(app: Flask, name: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, login(client, name)


def _post(client: FlaskClient, token: str, url: str, **data: str) -> object:
    return client.post(url, data={"csrf_token": token, **data})


def _publisher(app: Flask) -> RecordingPublisher:
    pub = state(app).identity
    assert isinstance(pub, RecordingPublisher)
    return pub


def _add_member(app: Flask, loyalty_id: str = "AB123456", tier: str = "gold") -> None:
    with transaction(state(app).sessions) as s:
        s.add(Member(loyalty_id=loyalty_id, name="Ana Diaz", tier=tier, email="", created_at=state(app).clock()))


# --- the live queue ------------------------------------------------------------------------------------


def test_one_agent_takes_a_mention_and_the_other_is_refused_and_told(app: Flask) -> None:
    state(app).hub.publish(scored("mastodon:1"))
    ana, ta = _client(app, "ana")
    bo, tb = _client(app, "bo")
    watcher = state(app).hub.subscribe()
    resp = ana.post("/mentions/mastodon:1/take", json={}, headers={"X-CSRFToken": ta})
    assert resp.status_code == 200 and resp.get_json()["assignee"] == "ana"
    event = watcher.get(0.5)
    assert event is not None and event.kind == "state"
    assert json.loads(event.data) == {"mention_id": "mastodon:1", "state": "taken", "assignee": "ana", "reason": ""}
    resp = bo.post("/mentions/mastodon:1/take", json={}, headers={"X-CSRFToken": tb})
    assert resp.status_code == 409 and resp.get_json()["conflict"] is True
    resp = bo.post("/mentions/mastodon:1/reply", json={}, headers={"X-CSRFToken": tb})
    assert resp.status_code == 409
    assert ana.post("/mentions/mastodon:1/reply", json={}, headers={"X-CSRFToken": ta}).status_code == 200


def test_the_stream_tells_a_new_console_who_holds_what(app: Flask) -> None:
    state(app).hub.publish(scored("mastodon:1"))
    ana, ta = _client(app, "ana")
    ana.post("/mentions/mastodon:1/take", json={}, headers={"X-CSRFToken": ta})
    bo, _ = _client(app, "bo")
    text = bo.get("/feed/stream").get_data(as_text=True)
    assert 'event: state\ndata: {"mention_id":"mastodon:1","state":"taken","assignee":"ana"' in text


def test_ignoring_needs_a_reason(app: Flask) -> None:
    state(app).hub.publish(scored("mastodon:1"))
    ana, ta = _client(app, "ana")
    assert ana.post("/mentions/mastodon:1/ignore", json={}, headers={"X-CSRFToken": ta}).status_code == 400
    resp = ana.post("/mentions/mastodon:1/ignore", json={"reason": "spam"}, headers={"X-CSRFToken": ta})
    assert resp.get_json()["state"] == "ignored"


def test_mention_text_is_escaped_on_the_mention_page(app: Flask) -> None:
    hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    state(app).hub.publish(scored("mastodon:x", hostile, handle='@"><b>h'))
    ana, _ = _client(app, "ana")
    html = ana.get("/mentions/mastodon:x").get_data(as_text=True)
    assert "<img src=x" not in html and "<script>alert" not in html and '"><b>h' not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_queue_script_never_uses_innerhtml() -> None:
    source = (Path(__file__).resolve().parents[2] / "web" / "static" / "queue.js").read_text()
    assert "innerHTML" not in source.replace("never innerHTML", "")
    assert ".textContent = m.mention.text" in source


def test_corrections_feed_the_agreement_page(app: Flask) -> None:
    state(app).hub.publish(scored("mastodon:1", label="negative"))
    state(app).hub.publish(scored("mastodon:2", label="negative"))
    ana, ta = _client(app, "ana")
    for mid, value in [("mastodon:1", "negative"), ("mastodon:2", "positive")]:
        resp = ana.post(
            f"/mentions/{mid}/correct", json={"field": "sentiment", "value": value}, headers={"X-CSRFToken": ta}
        )
        assert resp.status_code == 200
    html = ana.get("/quality").get_data(as_text=True)
    assert re.search(r"skyway</td><td>sentiment</td><td>care-1</td><td>2</td><td>1</td><td>50%", html)


# --- links and verified linking -------------------------------------------------------------------------


def test_link_and_unlink_publish_to_identity_links_and_are_audited(app: Flask) -> None:
    _add_member(app)
    ana, ta = _client(app, "ana")
    _post(ana, ta, "/customers/AB123456/links", platform="mastodon", handle="@Ana@Example.social")
    key, value = _publisher(app).sent[-1]
    assert key == "mastodon:ana@example.social"
    assert value is not None
    link = IdentityLink.from_json(value)
    assert (link.loyalty_id, link.tier, link.verified) == ("AB123456", "gold", False)
    # one handle, one member
    _add_member(app, "CD123456")
    resp = _post(ana, ta, "/customers/CD123456/links", platform="mastodon", handle="ana@example.social")
    assert len(_publisher(app).sent) == 1
    html = resp.get_data(as_text=True)  # type: ignore[attr-defined]
    assert resp.status_code == 400  # type: ignore[attr-defined]
    assert "already linked to AB123456" in html and 'value="ana@example.social"' in html  # what was typed stays
    with state(app).sessions() as s:
        link_id = s.scalars(sa.select(HandleLink.id)).one()
    _post(ana, ta, f"/customers/links/{link_id}/unlink")
    assert _publisher(app).sent[-1] == ("mastodon:ana@example.social", None)  # tombstone
    with state(app).sessions() as s:
        actions = [(e.action, e.actor) for e in s.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == [("link.create", "ana"), ("link.delete", "ana")]


def test_a_mention_carrying_the_code_verifies_the_link(app: Flask) -> None:
    _add_member(app)
    ana, ta = _client(app, "ana")
    _post(ana, ta, "/customers/AB123456/codes", platform="mastodon", handle="@ana")
    page = ana.get("/customers/AB123456").get_data(as_text=True)
    code = re.search(r"LC-[0-9A-F]{8}", page)
    assert code is not None
    state(app).hub.publish(scored("mastodon:5", f"here is my code {code.group(0)}", handle="@bo"))
    assert _publisher(app).sent == []  # from another handle: no
    state(app).hub.publish(scored("mastodon:6", f"here is my code {code.group(0)}", handle="@ana"))
    key, value = _publisher(app).sent[-1]
    assert key == "mastodon:ana" and value is not None and IdentityLink.from_json(value).verified


def test_an_expired_code_verifies_nothing(app: Flask) -> None:
    _add_member(app)
    ana, ta = _client(app, "ana")
    _post(ana, ta, "/customers/AB123456/codes", platform="mastodon", handle="ana")
    code = re.search(r"LC-[0-9A-F]{8}", ana.get("/customers/AB123456").get_data(as_text=True))
    assert code is not None
    clock = state(app).clock
    assert isinstance(clock, FakeClock)
    clock.advance(hours=25)
    state(app).hub.publish(scored("mastodon:6", code.group(0), handle="@ana"))
    assert _publisher(app).sent == []


def test_bad_member_input_says_what_is_wrong_and_keeps_what_was_typed(app: Flask) -> None:
    ana, ta = _client(app, "ana")
    resp = ana.post("/customers/", data={"csrf_token": ta, "loyalty_id": "x!", "name": "Ana Typed", "tier": "gold"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "does not match the format" in html and 'value="Ana Typed"' in html


# --- cases -------------------------------------------------------------------------------------------------


def _open_case(client: FlaskClient, token: str, **fields: str) -> object:
    data = {
        "category": "delay",
        "severity": "high",
        "compensation_kind": "none",
        "amount": "0",
        "apology_template": "general",
        "loyalty_id": "AB123456",
    }
    data.update(fields)
    return _post(client, token, "/cases/new", **data)


def test_case_within_the_agents_limit_opens_directly(app: Flask) -> None:
    _add_member(app)
    ana, ta = _client(app, "ana")
    resp = _open_case(ana, ta, compensation_kind="voucher", amount="50.00")
    assert resp.status_code == 302  # type: ignore[attr-defined]
    with state(app).sessions() as s:
        case = s.scalars(sa.select(Case)).one()
    assert (case.state, case.compensation_cents) == ("open", 5000)


def test_case_over_the_limit_waits_for_a_supervisor(app: Flask) -> None:
    _add_member(app)
    ana, ta = _client(app, "ana")
    _open_case(ana, ta, compensation_kind="voucher", amount="120")
    with state(app).sessions() as s:
        case = s.scalars(sa.select(Case)).one()
    assert case.state == "waiting_approval"
    assert ana.post(f"/cases/{case.id}/decision", data={"csrf_token": ta, "decision": "approve"}).status_code == 403
    sue, ts = _client(app, "sue")
    _post(sue, ts, f"/cases/{case.id}/decision", decision="approve")
    with state(app).sessions() as s:
        approved = s.get(Case, case.id)
        assert approved is not None
        assert (approved.state, approved.approved_by is not None) == ("in_progress", True)
        actions = [e.action for e in s.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["case.open", "case.approve"]


def test_refused_compensation_is_cleared(app: Flask) -> None:
    _add_member(app)
    ana, ta = _client(app, "ana")
    _open_case(ana, ta, compensation_kind="refund", amount="300")
    sue, ts = _client(app, "sue")
    _post(sue, ts, "/cases/1/decision", decision="refuse")
    with state(app).sessions() as s:
        case = s.get(Case, 1)
        assert case is not None and (case.state, case.compensation_cents) == ("in_progress", 0)


def test_bad_case_input_keeps_what_was_typed(app: Flask) -> None:
    _add_member(app)
    ana, ta = _client(app, "ana")
    resp = _open_case(ana, ta, compensation_kind="voucher", amount="lots", notes="Typed notes")
    html = resp.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "is not a number" in html and "Typed notes" in html


def test_sla_breach_is_shown_and_counted_with_the_injected_clock(app: Flask) -> None:
    _add_member(app)
    ana, ta = _client(app, "ana")
    _open_case(ana, ta)
    assert 'id="breaches">0 SLA breaches' in ana.get("/cases/").get_data(as_text=True)
    clock = state(app).clock
    assert isinstance(clock, FakeClock)
    clock.advance(minutes=16)
    assert 'id="breaches">1 SLA breach<' in ana.get("/cases/").get_data(as_text=True)


def test_case_moves_through_its_states_to_resolved(app: Flask) -> None:
    _add_member(app)
    ana, ta = _client(app, "ana")
    _open_case(ana, ta, follow_up_on="2025-03-02")
    _post(ana, ta, "/cases/1/responded")
    clock = state(app).clock
    assert isinstance(clock, FakeClock)
    clock.advance(days=1)
    assert "follow up due" in ana.get("/cases/").get_data(as_text=True)
    _post(ana, ta, "/cases/1/move", target="resolved", outcome="won_back")
    with state(app).sessions() as s:
        case = s.get(Case, 1)
        assert case is not None and (case.state, case.outcome) == ("resolved", "won_back")
    sue, _ = _client(app, "sue")
    html = sue.get("/cases/reports").get_data(as_text=True)
    assert "median time to first response 0 min" in html and "won back" in html


# --- audit and schema ------------------------------------------------------------------------------------


def test_role_changes_are_audited_and_the_audit_trail_cannot_be_edited(app: Flask) -> None:
    adm, tk = _client(app, "adm")
    _post(adm, tk, "/admin/users/1/role", role="supervisor", active="yes")
    with state(app).sessions() as s:
        entry = s.scalars(sa.select(AuditEntry)).one()
        assert (entry.action, json.loads(entry.before)["role"], json.loads(entry.after)["role"]) == (
            "user.role",
            "agent",
            "supervisor",
        )
        entry.action = "nothing happened"
        with pytest.raises(AuditImmutableError):
            s.flush()
        s.rollback()
        s.delete(s.scalars(sa.select(AuditEntry)).one())
        with pytest.raises(AuditImmutableError):
            s.flush()


def test_migration_matches_the_models(app: Flask) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from infra.db import Base, make_engine

    engine = make_engine(app.config["DATABASE_URL"])
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mine = [d for d in diff if "console_" in repr(d)]
    assert mine == []


def test_reply_is_recorded_to_send_by_hand_and_moves_the_mention_to_replied(app: Flask) -> None:
    state(app).hub.publish(scored("mastodon:1", handle="@ana"))
    ana, ta = _client(app, "ana")
    bo, tb = _client(app, "bo")
    headers = {"X-CSRFToken": ta}
    assert ana.post("/mentions/mastodon:1/send-reply", json={"text": " "}, headers=headers).status_code == 400
    assert ana.post("/mentions/mastodon:1/send-reply", json={"text": "x" * 501}, headers=headers).status_code == 400
    ana.post("/mentions/mastodon:1/take", json={}, headers=headers)
    refused = bo.post("/mentions/mastodon:1/send-reply", json={"text": "hi"}, headers={"X-CSRFToken": tb})
    assert refused.status_code == 409
    resp = ana.post("/mentions/mastodon:1/send-reply", json={"text": "Sorry <b>@ana</b>"}, headers=headers)
    body = resp.get_json()
    assert (body["state"], body["reply_status"]) == ("replied", "to_send_by_hand")
    html = ana.get("/mentions/mastodon:1").get_data(as_text=True)
    assert "Sorry &lt;b&gt;@ana&lt;/b&gt;" in html and "to send by hand" in html
    assert "Hi @ana, we&#39;re sorry" in html  # the template, filled with the author's handle
