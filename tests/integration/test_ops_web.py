"""The operator page and /metrics in the console: the status report from the real engines, admin only;
metrics for this machine or an admin, a 404 for anyone else."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from infra.settings import Settings
from infra.status import Facts, Limits, assess
from tests.unit.web_fixtures import add_user, login, migrated_copy
from web import create_app
from web.identity import RecordingPublisher

pytestmark = pytest.mark.integration
REMOTE = {"REMOTE_ADDR": "10.0.0.5"}


def console(settings: Settings, tmp_path: Path, **overrides: object) -> Flask:
    migrated_copy(tmp_path / "web.db")
    return create_app(settings, TESTING=True, MIGRATE=False, START_FEED=False, SECRET_KEY="s",
                      DATABASE_URL=f"sqlite:///{tmp_path}/web.db", IDENTITY_PUBLISHER=RecordingPublisher(),
                      **overrides)


def test_operator_page_shows_the_real_status_to_admins_only(lc: Settings, tmp_path: Path) -> None:
    app = console(lc, tmp_path)
    add_user(app, "root", "admin")
    add_user(app, "ann", "agent")
    agent = app.test_client()
    login(agent, "ann")
    assert agent.get("/operator/").status_code == 403

    admin = app.test_client()
    login(admin, "root")
    resp = admin.get("/operator/")
    html = resp.get_data(as_text=True)
    # Engines answer, but none of this test's components run: unhealthy, like the command's exit code.
    assert resp.status_code == 503
    assert "Unhealthy" in html and "<td>kafka</td><td>answers</td>" in html
    assert "<td>FAILED</td><td>worker</td>" in html
    data = admin.get("/operator/status.json").get_json()
    assert data["healthy"] is False
    assert {c["name"]: c["level"] for c in data["checks"]}["elasticsearch"] == "ok"


def test_operator_page_escapes_and_says_healthy(lc: Settings, tmp_path: Path) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    facts = Facts(kafka=True, es_status="green", pids={"worker": 1, "indexer": 2, "alerter": 3, "web": 4})
    facts.ingest_lag = {"<script>x</script>": 1.0}
    app = console(lc, tmp_path, OPERATOR_REPORT=lambda _settings: assess(facts, now, Limits()))
    add_user(app, "root", "admin")
    client = app.test_client()
    login(client, "root")
    resp = client.get("/operator/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Healthy" in html
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html


def test_metrics_for_loopback_and_admins_only(lc: Settings, tmp_path: Path) -> None:
    app = console(lc, tmp_path)
    add_user(app, "root", "admin")
    local = app.test_client().get("/metrics")
    assert local.status_code == 200 and local.mimetype == "text/plain"
    assert "lc_feed_subscribers 0.0" in local.get_data(as_text=True)
    assert app.test_client().get("/metrics", environ_base=REMOTE).status_code == 404
    admin = app.test_client()
    admin.environ_base.update(REMOTE)  # the session is bound to the address it logged in from
    login(admin, "root")
    assert admin.get("/metrics").status_code == 200
