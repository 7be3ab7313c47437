"""Rule sets in the database: checked before saving, versioned with who and when, published after commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from infra.db import make_engine, session_factory
from listeners.rules import DEFAULT_RULES_PATH, ruleset_from_dict
from listeners.rules_preview import Preview, count_days, window
from listeners.rules_store import (
    RecordingRulesPublisher,
    RulesRejected,
    RuleStore,
    RuleVersion,
    check_name,
    check_rules,
)
from stream.schema import format_time

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SMALL = """\
version: 1
brands:
  - name: skyway
    rules:
      - id: skyway-handle
        query: '@SkywayAir OR "Skyway Air"'
    topics:
      baggage: 'bag OR luggage'
    fixtures:
      match:
        - text: "@SkywayAir lost my bag"
          topics: [baggage]
      no_match:
        - text: "the skyway downtown"
"""


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def store(db_url: str) -> RuleStore:
    return RuleStore(session_factory(make_engine(db_url)), Clock())


# -- checking -------------------------------------------------------------------------------------------
def test_the_shipped_rules_pass_with_their_fixtures() -> None:
    check = check_rules(DEFAULT_RULES_PATH.read_text())
    assert check.ok and check.rules is not None
    assert check.fixtures_run >= 10
    assert all(p.severity == "warning" for p in check.problems)


def test_a_syntax_error_says_which_rule_which_column_and_line() -> None:
    check = check_rules(SMALL.replace("'bag OR luggage'", "'bag OR (luggage'"))
    assert not check.ok and check.rules is None
    [problem] = check.errors
    assert problem.column == 16 and "expected ')'" in problem.message
    assert problem.rule == "bag OR (luggage"
    assert problem.where.startswith("skyway: topic baggage")
    assert problem.line == SMALL.splitlines().index("      baggage: 'bag OR luggage'") + 1


@pytest.mark.parametrize(("query", "said"), [
    ("NOT skyway", "matches every post"),
    ("skyway AND NOT skyway", "can never match"),
    ("lang:en", "whatever the text"),
])
def test_never_and_always_matching_rules_are_errors(query: str, said: str) -> None:
    check = check_rules(SMALL.replace("'@SkywayAir OR \"Skyway Air\"'", repr(query)))
    assert not check.ok
    assert any(said in p.message and p.rule == query for p in check.errors), check.problems


def test_a_failing_fixture_is_an_error() -> None:
    check = check_rules(SMALL.replace("the skyway downtown", "Skyway Air downtown"))
    assert not check.ok
    [problem] = check.errors
    assert "must not match" in problem.message and problem.where.endswith("no_match[0]")


def test_broken_yaml_and_wrong_shapes_are_reported_not_raised() -> None:
    yaml_error = check_rules("brands: [\n  {name: x")
    assert not yaml_error.ok and yaml_error.errors[0].line == 2 and "YAML" in yaml_error.errors[0].message
    shape = check_rules("version: 1\nbrands:\n  - name: skyway\n    rulez: []\n")
    assert not shape.ok and "unknown key 'rulez'" in shape.errors[0].message
    assert not check_rules("").ok


def test_names_are_safe_keys() -> None:
    assert check_name("default") is None and check_name("skyway-2026.q1") is None
    for bad in ("", "Default", "a/b", "x" * 65, "-x", "a b"):
        assert check_name(bad)


# -- storing and publishing -----------------------------------------------------------------------------
def test_save_stores_a_version_then_publishes_the_whole_set_keyed_by_name(store: RuleStore) -> None:
    publisher = RecordingRulesPublisher()
    saved = store.save("skyway", SMALL, "ana", publisher, note="first")
    assert saved.created and saved.published
    assert (saved.version.version, saved.version.created_by, saved.version.note) == (1, "ana", "first")
    [(key, document)] = publisher.sent
    assert key == "skyway"
    rules = ruleset_from_dict(json.loads(document))  # what listeners decode (runner.watch_rules)
    assert rules.to_dict() == check_rules(SMALL).rules.to_dict()  # type: ignore[union-attr]
    current = store.current("skyway")
    assert current is not None and current.published_at is not None and current.source == SMALL


def test_versions_count_up_per_name_and_keep_who_and_when(store: RuleStore) -> None:
    publisher = RecordingRulesPublisher()
    store.save("skyway", SMALL, "ana", publisher)
    changed = SMALL.replace("bag OR luggage", "bag OR luggage OR suitcase")
    second = store.save("skyway", changed, "ben", publisher)
    store.save("northwind", SMALL.replace("skyway", "northwind"), "ana", publisher)
    assert second.version.version == 2
    history = store.history("skyway")
    assert [(v.version, v.created_by) for v in history] == [(2, "ben"), (1, "ana")]
    assert history[0].created_at > history[1].created_at
    assert [(v.name, v.version) for v in store.names()] == [("northwind", 1), ("skyway", 2)]


def test_saving_the_same_text_again_stores_nothing_new_but_republishes(store: RuleStore) -> None:
    publisher = RecordingRulesPublisher()
    store.save("skyway", SMALL, "ana", publisher)
    again = store.save("skyway", SMALL, "ben", publisher)
    assert not again.created and again.version.version == 1
    assert len(publisher.sent) == 2


def test_rejected_text_stores_and_publishes_nothing(store: RuleStore) -> None:
    publisher = RecordingRulesPublisher()
    with pytest.raises(RulesRejected) as caught:
        store.save("skyway", SMALL.replace("'bag OR luggage'", "'bag OR'"), "ana", publisher)
    assert caught.value.check.errors[0].column is not None
    with pytest.raises(RulesRejected):
        store.save("Bad Name", SMALL, "ana", publisher)
    assert store.current("skyway") is None and publisher.sent == []


def test_a_failed_publish_keeps_the_version_unpublished_until_published_again(store: RuleStore) -> None:
    publisher = RecordingRulesPublisher()
    publisher.fail = TimeoutError("broker did not answer")
    saved = store.save("skyway", SMALL, "ana", publisher)
    assert saved.created and not saved.published and "broker did not answer" in saved.publish_error
    current = store.current("skyway")
    assert current is not None and current.published_at is None

    publisher.fail = None
    row, error = store.publish_current("skyway", publisher)
    assert error == "" and row is not None and row.published_at is not None
    assert [k for k, _ in publisher.sent] == ["skyway"]
    assert store.publish_current("nothing", publisher)[1]


def test_after_save_runs_in_the_same_transaction(store: RuleStore) -> None:
    publisher = RecordingRulesPublisher()

    def boom(session: Session, new: RuleVersion, previous: RuleVersion | None) -> None:
        assert session.scalar(sa.select(sa.func.count()).select_from(RuleVersion)) == 1
        raise RuntimeError("audit failed")

    with pytest.raises(RuntimeError, match="audit failed"):
        store.save("skyway", SMALL, "ana", publisher, after_save=boom)
    assert store.current("skyway") is None and publisher.sent == []


# -- the console page (no network: the publisher records, the history scan is replaced) ------------------
def _console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Flask, FlaskClient, RecordingRulesPublisher]:
    from tests.unit.web_fixtures import add_user, login, make_app

    publisher = RecordingRulesPublisher()
    app = make_app(tmp_path, RULES_PUBLISHER=publisher)
    add_user(app, "root", "admin")
    add_user(app, "amy", "agent")
    client = app.test_client()
    client.csrf = login(client, "root")  # type: ignore[attr-defined]

    def no_history(_es: object, _prefix: str, current: Any, new: Any, now: datetime, days: int = 14) -> Preview:
        first, last, _start, _end = window(now, days)
        docs = [{"text": "@SkywayAir my suitcase is gone", "created_at": format_time(now)},
                {"text": "@SkywayAir lost my bag", "created_at": format_time(now)}]
        return count_days(docs, current, new, first, last)

    monkeypatch.setattr("web.rules_admin.preview_history", no_history)
    monkeypatch.setattr("web.rules_admin._es", lambda: None)
    return app, client, publisher


def _audit(app: Flask) -> list[tuple[str, str, str]]:
    from tests.unit.web_fixtures import state
    from web.models import AuditEntry

    with state(app).sessions() as session:
        rows = session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
        return [(a.actor, a.action, a.object_id) for a in rows]


def test_console_preview_shows_errors_with_their_column_and_stores_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, client, publisher = _console(tmp_path, monkeypatch)
    broken = SMALL.replace("'bag OR luggage'", "'bag OR (luggage'")
    for action in ("preview", "save"):
        resp = client.post("/admin/rules/skyway", data={"source": broken, "action": action,
                                                        "csrf_token": client.csrf})  # type: ignore[attr-defined]
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422
        assert "column 16" in html and "expected &#39;)&#39;" in html and "line 8" in html
        assert "bag OR (luggage\n               ^" in html  # the caret under the column
    assert publisher.sent == []
    assert [a[1] for a in _audit(app) if a[1].startswith("rules.")] == ["rules.preview", "rules.reject"]


def test_console_preview_counts_then_save_publishes_and_is_audited(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, client, publisher = _console(tmp_path, monkeypatch)
    assert client.get("/admin/rules/skyway").status_code == 200
    wider = SMALL.replace("'bag OR luggage'", "'bag OR luggage OR suitcase*'")
    html = client.post("/admin/rules/skyway", data={"source": wider, "action": "preview", "days": "3",
                                                    "csrf_token": client.csrf}).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "current 0 → new 2" in html and html.count('data-day="') == 3
    resp = client.post("/admin/rules/skyway", data={"source": wider, "action": "save", "note": "suitcases",
                                                    "csrf_token": client.csrf})  # type: ignore[attr-defined]
    assert resp.status_code == 302
    assert [k for k, _ in publisher.sent] == ["skyway"]
    page = client.get("/admin/rules/skyway").get_data(as_text=True)
    assert "Version 1 of skyway saved and published" in page and "suitcases" in page
    listing = client.get("/admin/rules/").get_data(as_text=True)
    assert "skyway" in listing and "published" in listing
    assert ("root", "rules.publish", "skyway") in _audit(app)


def test_console_rules_are_for_admins_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit.web_fixtures import login

    app, _client, publisher = _console(tmp_path, monkeypatch)
    agent = app.test_client()
    token = login(agent, "amy")
    assert agent.get("/admin/rules/").status_code == 403
    assert agent.post("/admin/rules/skyway", data={"source": SMALL, "action": "save",
                                                   "csrf_token": token}).status_code == 403
    assert publisher.sent == []


# -- preview counting (pure) ----------------------------------------------------------------------------
def test_counts_per_day_are_zero_filled_and_split_into_gained_and_lost() -> None:
    current = check_rules(SMALL).rules
    new = check_rules(SMALL.replace("'@SkywayAir OR \"Skyway Air\"'", "'@SkywayAir OR suitcase*'")).rules
    assert current is not None and new is not None
    docs = [
        {"text": "@SkywayAir bag", "created_at": "2026-03-01T23:59:59Z"},  # both
        {"text": "Skyway Air late again", "created_at": "2026-03-01T10:00:00+00:00"},  # current only
        {"text": "my suitcase is gone", "created_at": "2026-03-03T00:00:00Z"},  # new only
        {"text": "my suitcase", "created_at": "2026-03-02T23:30:00-02:00"},  # that is 03-03 in UTC
        {"text": "@SkywayAir", "created_at": "2026-02-28T12:00:00Z"},  # before the window
        {"text": "@SkywayAir", "created_at": "not a time"},
    ]
    preview = count_days(docs, current, new, datetime(2026, 3, 1).date(), datetime(2026, 3, 3).date())
    rows = [(d.day.day, d.current, d.new, d.gained, d.lost) for d in preview.days]
    assert rows == [(1, 2, 1, 0, 1), (2, 0, 0, 0, 0), (3, 0, 2, 2, 0)]
    assert (preview.current, preview.new, preview.scanned) == (2, 3, 6)
    assert preview.by_brand == {"skyway": [2, 3]}
    assert preview.lost_samples == ["Skyway Air late again"] and len(preview.gained_samples) == 2


def test_no_current_rules_counts_everything_new_and_a_limit_says_partial() -> None:
    new = check_rules(SMALL).rules
    assert new is not None
    docs = [{"text": "@SkywayAir", "created_at": "2026-03-01T00:00:00Z"}] * 5
    day = datetime(2026, 3, 1).date()
    full = count_days(docs, None, new, day, day)
    assert (full.current, full.new, full.gained, full.truncated) == (0, 5, 5, False)
    partial = count_days(docs, None, new, day, day, limit=3)
    assert (partial.new, partial.truncated) == (3, True)


def test_the_window_is_the_last_n_utc_days_including_today() -> None:
    now = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)
    first, last, start, end = window(now, 7)
    assert (first.isoformat(), last.isoformat()) == ("2026-03-04", "2026-03-10")
    assert start == datetime(2026, 3, 4, tzinfo=UTC) and end == now
    with pytest.raises(ValueError):
        window(now, 0)


def test_cli_publish_refuses_a_broken_file_with_its_column_before_any_network(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from listeners.rules_cli import main

    monkeypatch.setenv("LC_DATABASE_URL", db_url)
    monkeypatch.setenv("LC_KAFKA_BOOTSTRAP", "127.0.0.1:1")  # never reached: the check fails first
    file = tmp_path / "skyway.yaml"
    file.write_text(SMALL.replace("'bag OR luggage'", "'bag OR (luggage'"))
    assert main(["publish", str(file)]) == 1
    err = capsys.readouterr().err
    assert "(line 8)" in err and "at column 16" in err and "  bag OR (luggage\n                 ^" in err
    assert "not published" in err
    assert RuleStore(session_factory(make_engine(db_url)), Clock()).current("skyway") is None
    assert main(["publish", str(tmp_path / "missing.yaml")]) == 2


def test_the_migration_matches_the_model(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from infra.db import Base

    with make_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "listener_rule_versions" in repr(d)] == []
